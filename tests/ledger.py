"""What the rule-kind tests ask of the ledger: run the nightly accrual for a date, and read what it booked."""

from django.db.models import Sum

from config import clock
from rebates.models import LedgerEntry
from rebates.services import accrual_run_perform, accrual_run_start
from rebates.sql import accrual_flat as flat_sql


def accrue(as_of, *, full=False):
    """One accrual run for `as_of`, settlements left unclosed; a full run recomputes every agreement."""
    run = accrual_run_start(as_of=as_of, full=full, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk, close_settlements=False)


def booked_by_month(agreement) -> dict:
    """The months that hold a rebate for the agreement, and how much."""
    return {row["period"]: row["total"] for row in LedgerEntry.objects.filter(agreement=agreement)
            .values("period").order_by("period").annotate(total=Sum("amount")) if row["total"]}


def flat_path_books(agreement, *, as_of) -> tuple[list[int], int]:
    """What the set-based flat booking would take of a full run as of `as_of` for this one agreement: (the
    agreement ids it books, the entries it writes). A kind it must leave to the engine gives ([], 0)."""
    run = accrual_run_start(as_of=as_of, full=True, trigger="command", queue=False)
    flat_ids, entries, _ = flat_sql.flat_bookings(agreement_ids=[agreement.pk], changed_months={},
                                                  as_of_month=as_of.replace(day=1), run_id=run.pk, now=clock.now(),
                                                  whole="lines")
    return flat_ids, entries
