"""The Celery application, configured from Django settings (the CELERY_ namespace)."""

import logging
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

logger = logging.getLogger(__name__)

app = Celery("rebate_desk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def queue_on_commit(task, *args):
    """Queue `task(*args)` once the current transaction commits; nothing when it rolls back.

    With the broker down the caller's work still stands: the message is tried once, on a connection of
    its own that gives up at the first refusal (a request never waits on a broker that is away), the
    failure is logged, and the sweeper (`rebates.tasks.waiting_work_requeue`, every minute) queues the
    work again once the broker is back.
    """
    from django.db import transaction

    def send():
        try:
            with app.connection_for_write(transport_options=SINGLE_ATTEMPT) as connection:
                task.apply_async(args=args, retry=False, connection=connection)
        except Exception:  # any broker failure: the saved work must not be lost with the message
            logger.warning("could not queue %s%r; the sweeper will queue it again", task.name, args, exc_info=True)

    transaction.on_commit(send)


# One connection attempt, bounded in time (kombu and redis-py would otherwise retry for seconds).
SINGLE_ATTEMPT = {"max_retries": 0, "socket_connect_timeout": 1, "socket_timeout": 2}


def broker_queue_length() -> int:
    """Messages waiting in the default queue, not yet taken by a worker (raises when the broker is away)."""
    from kombu.exceptions import ChannelError

    with app.connection_for_write(transport_options=SINGLE_ATTEMPT) as connection:
        try:
            return connection.default_channel.queue_declare(queue=app.conf.task_default_queue,
                                                            passive=True).message_count
        except ChannelError:  # Redis drops an empty list: no queue is an empty queue
            return 0
