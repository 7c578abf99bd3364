"""What the rule-kind tests ask of the ledger: run the nightly accrual for a date, and read what it booked."""

from django.db.models import Sum

from rebates.models import LedgerEntry
from rebates.services import accrual_run_perform, accrual_run_start


def accrue(as_of, *, full=False):
    """One accrual run for `as_of`, settlements left unclosed; a full run recomputes every agreement."""
    run = accrual_run_start(as_of=as_of, full=full, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk, close_settlements=False)


def booked_by_month(agreement) -> dict:
    """The months that hold a rebate for the agreement, and how much."""
    return {row["period"]: row["total"] for row in LedgerEntry.objects.filter(agreement=agreement)
            .values("period").order_by("period").annotate(total=Sum("amount")) if row["total"]}
