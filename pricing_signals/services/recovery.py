"""The sweeper's one service (every 30 seconds, idempotent): queue again whatever lost its message while the
broker was down (docs/broker-down.md)."""

import logging

from django.db import transaction

from config.celery_app import queue_on_commit
from pricing_signals.models import PriceClaim

logger = logging.getLogger(__name__)


def waiting_work_requeue() -> dict[str, int]:
    """Queue again every piece of work that lost its message (the sweeper, every 30 seconds; idempotent):
    the rebates app's (`rebate_work_requeue`: stale accrual chunks, queued runs, uploads, exports) and the
    checks of claims still pending after QUEUED_WORK_REQUEUE_SECONDS. Work that may simply be waiting its
    turn is queued again only when the broker's queue is empty. Returns the count of each kind queued."""
    from config.celery_app import broker_queue_length
    from pricing_signals.tasks import price_claim_check as check_task
    from rebates.services.recovery import REQUEUE_LIMIT, rebate_work_requeue, waiting_since

    queue_empty = broker_queue_length() == 0
    with transaction.atomic():
        counts = rebate_work_requeue(queue_empty=queue_empty)
        counts["claim_checks"] = 0
        if queue_empty:
            oldest, newest = waiting_since()
            unchecked = PriceClaim.objects.filter(check_pending=True, created_at__gte=oldest, created_at__lt=newest)
            for claim_id in unchecked.order_by("created_at").values_list("pk", flat=True)[:REQUEUE_LIMIT]:
                queue_on_commit(check_task, claim_id)
                counts["claim_checks"] += 1
    if any(counts.values()):
        logger.info("queued again: %s", counts)
    return counts
