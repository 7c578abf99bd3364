"""Celery tasks of market signals."""

from celery import shared_task


@shared_task(name="pricing_signals.tasks.nightly_signal_sweep")
def nightly_signal_sweep():
    """The beat entry that re-checks every claim. Detection arrives with the market signal work;
    until then there is nothing to sweep and the task says so."""
    from pricing_signals.models import PriceClaim

    return {"claims": PriceClaim.objects.count(), "checked": 0}
