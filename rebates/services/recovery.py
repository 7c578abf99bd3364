"""Work saved while the broker was away is queued again once it is back (docs/broker-down.md).

Every write that needs a worker queues its task after commit; when Redis is down that message is lost
(the write itself stands). What was lost is found from the rows themselves: a queued run, an upload
whose preview or commit never started, a queued export. Each task is idempotent, so queuing one again
that was only slow costs a little work and books nothing twice.
"""

from datetime import timedelta

from django.conf import settings

from config import clock
from config.celery_app import app as celery_app
from config.celery_app import queue_on_commit
from customers.models import Customer
from rebates.models import AccrualRun, ExportJob, ImportBatch
from rebates.services.accrual import accrual_runs_resume_stale
from rebates.services.outlook import agreement_forecast_chunks

# Work older than this is left to the nightly schedule and the operators: a poison message is not retried
# for ever.
RECOVERY_WINDOW = timedelta(days=1)
# At most this many of each kind per sweep; the next sweep takes the rest.
REQUEUE_LIMIT = 1000


def waiting_since():
    """The (oldest, newest) creation times of work that may have lost its message."""
    now = clock.now()
    return now - RECOVERY_WINDOW, now - timedelta(seconds=settings.QUEUED_WORK_REQUEUE_SECONDS)


def rebate_work_requeue(*, queue_empty: bool) -> dict[str, int]:
    """Queue again (after this transaction commits) the rebates work that lost its message; returns the
    count of each kind queued.

    Always: the pending chunks of a running accrual run that lost its worker (no chunk being booked, no
    progress for ACCRUAL_RUN_STALE_SECONDS). Only when `queue_empty` (the broker's queue holds no message,
    so nothing waiting there can be the work's own): runs still queued, file imports whose preview or
    commit never started (progress 0) and exports still queued, that have waited longer than
    QUEUED_WORK_REQUEUE_SECONDS; and the outlook of the latest run that succeeded as long ago: its
    agreements' forecasts while any chunk of them is not stored, its customers' value and risk when no
    customer was valued as of its day.
    """
    from rebates.tasks import (
        accrual_run_execute,
        agreement_forecasts_record,
        export_job_execute,
        purchase_import_commit_task,
        purchase_import_preview_task,
    )

    counts = {"accrual_chunks": accrual_runs_resume_stale(), "accrual_runs": 0, "import_previews": 0,
              "import_commits": 0, "exports": 0, "outlooks": 0, "values": 0}
    if not queue_empty:
        return counts
    oldest, newest = waiting_since()
    waited = {"created_at__gte": oldest, "created_at__lt": newest}
    for run_id in _ids(AccrualRun.objects.filter(status=AccrualRun.Status.QUEUED, **waited)):
        queue_on_commit(accrual_run_execute, run_id)
        counts["accrual_runs"] += 1
    batches = ImportBatch.objects.filter(source=ImportBatch.Source.FILE, progress=0, **waited)
    for batch_id in _ids(batches.filter(status=ImportBatch.Status.PENDING)):
        queue_on_commit(purchase_import_preview_task, batch_id)
        counts["import_previews"] += 1
    # The uploader stands in for whoever pressed commit (the commit's own message named them).
    for batch_id, user_id in batches.filter(status=ImportBatch.Status.IMPORTING).order_by("pk").values_list(
            "pk", "created_by_id")[:REQUEUE_LIMIT]:
        queue_on_commit(purchase_import_commit_task, batch_id, user_id)
        counts["import_commits"] += 1
    for job_id in _ids(ExportJob.objects.filter(status=ExportJob.Status.QUEUED, **waited)):
        queue_on_commit(export_job_execute, job_id)
        counts["exports"] += 1
    # The latest successful run's outlook, when its message or one of its chunks' was lost (older runs'
    # outlooks are history); queued again, it queues only the chunks still missing.
    latest = (AccrualRun.objects.filter(status=AccrualRun.Status.SUCCEEDED, finished_at__gte=oldest,
                                        finished_at__lt=newest).order_by("-finished_at", "-pk").first())
    if latest is not None and agreement_forecast_chunks(run_id=latest.pk):
        queue_on_commit(agreement_forecasts_record, latest.pk)
        counts["outlooks"] += 1
    # Its customers' value and risk (an edge app's task, named as the run's end names it), when no customer
    # was valued as of its day: the refresh values every customer at once, so one lost message is all it takes.
    valued_as_of = min(latest.as_of, clock.today()) if latest is not None else None
    if valued_as_of is not None and not Customer.objects.filter(valued_on=valued_as_of).exists():
        queue_on_commit(celery_app.signature("outlook.tasks.outlook_refresh"), valued_as_of.isoformat())
        counts["values"] += 1
    return counts


def _ids(queryset) -> list[int]:
    return list(queryset.order_by("pk").values_list("pk", flat=True)[:REQUEUE_LIMIT])
