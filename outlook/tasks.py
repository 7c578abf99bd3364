"""The nightly outlook, queued on commit by a successful accrual run (rebates.services.accrual._finish)."""

from datetime import date

from celery import shared_task


@shared_task(name="outlook.tasks.outlook_refresh")
def outlook_refresh(as_of):
    """Every customer's value tier and risk as of `as_of` (YYYY-MM-DD); safe to run twice or to be killed
    midway (one transaction, the same answer each time)."""
    from outlook.services import outlook_refresh as refresh

    return refresh(as_of=date.fromisoformat(as_of)).changed
