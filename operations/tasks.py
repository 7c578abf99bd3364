"""The minute check: takes nothing, changes only alerts, safe to run twice or to be killed midway."""

from celery import shared_task


@shared_task(name="operations.tasks.operations_check")
def operations_check():
    """The beat entry (every minute): note that a worker is alive, then raise and clear the alerts."""
    from operations.services import heartbeat_record
    from operations.services import operations_check as check

    heartbeat_record(name="worker")
    return check()
