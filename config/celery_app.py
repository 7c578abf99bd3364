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

    With the broker down the caller's work still stands: the failure is logged and the nightly run or
    sweep picks up what the message would have done.
    """
    from django.db import transaction

    def send():
        try:
            task.apply_async(args=args, retry=False)
        except Exception:  # any broker failure: the saved work must not be lost with the message
            logger.warning("could not queue %s%r; the nightly schedule will catch up", task.name, args, exc_info=True)

    transaction.on_commit(send)
