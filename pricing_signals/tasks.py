"""Celery tasks of market signals: each takes ids, calls one service, and is safe to run twice or at once
(detection recomputes from the stored claims under an advisory lock, so a second run changes nothing)."""

from celery import shared_task

from config import clock


@shared_task(name="pricing_signals.tasks.price_claim_check")
def price_claim_check(claim_id):
    """Queued when a claim commits: its status (and any signal it makes) within seconds."""
    from pricing_signals.services import price_claim_check as check

    return check(claim_id=claim_id, as_of=clock.today())


@shared_task(name="pricing_signals.tasks.nightly_signal_sweep")
def nightly_signal_sweep():
    """The beat entry: re-check every claim, so claims saved while the broker was down are caught and
    claims whose window has passed become unsubstantiated."""
    from pricing_signals.services import signals_detect

    result = signals_detect(as_of=clock.today())
    return {"claims": result.claims, "changed": result.claims_changed, "signals_created": result.signals_created}


@shared_task(name="pricing_signals.tasks.waiting_work_requeue")
def waiting_work_requeue():
    """The beat entry (every 30 seconds): queue again the work whose message or worker was lost."""
    from pricing_signals.services import waiting_work_requeue as requeue

    return requeue()
