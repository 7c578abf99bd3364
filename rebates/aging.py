"""The aged liability: the unpaid rebate by how long ago it was earned (docs/finance-reports.md), per
customer, program or account manager. Every read starts from `visible_to(user)`."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from rebates.models import EARNED_KINDS, LedgerEntry
from rebates.sql import aging as sql

ZERO = Decimal("0.00")
# The buckets' upper bounds in days (the last bucket is everything older).
BOUNDS = (90, 180, 365)
BUCKETS = ("0–90 days", "91–180 days", "181–365 days", "over 365 days")
GROUPS = {"customer": "Customer", "program": "Program", "manager": "Account manager"}


@dataclass(frozen=True)
class AgedRow:
    """One customer's, program's or account manager's unpaid rebate by age bucket, and in all."""

    key: int | None
    code: str
    name: str
    buckets: tuple[Decimal, Decimal, Decimal, Decimal]
    total: Decimal


def aged_liability(*, user, as_of: date, group: str = "customer") -> list[AgedRow]:
    """The unpaid rebate of the entries the user may see, aged on `as_of`, per `group` (GROUPS), the largest
    first. Each agreement's unpaid balance (what it earned less what was paid and forfeited) sits in the newest
    months that earned it, payouts and forfeitures having used up the oldest first; a month's age is the days
    from its last day to `as_of`. The rows' totals add up to the unpaid liability. One query."""
    if group not in GROUPS:
        raise ValueError(f"group: one of {', '.join(GROUPS)}")
    earned = Q(kind__in=EARNED_KINDS)
    cells = (LedgerEntry.objects.visible_to(user).order_by().values("agreement_id", "period")
             .annotate(earned=Sum("amount", filter=earned, default=ZERO),
                       reduced=Sum("amount", filter=~earned, default=ZERO))
             .values_list("agreement_id", "period", "earned", "reduced"))
    cells_sql, cells_params = cells.query.sql_with_params()
    rows = sql.aged_liability_rows(cells_sql=cells_sql, cells_params=cells_params, as_of=as_of, bounds=BOUNDS,
                                   group=group)
    return [AgedRow(key, code or "—", name or "", (b1, b2, b3, b4), total)
            for key, code, name, b1, b2, b3, b4, total in rows]


def bucket_totals(rows: list[AgedRow]) -> tuple[tuple[Decimal, ...], Decimal]:
    """The buckets' totals over `rows`, and the grand total."""
    totals = tuple(sum((row.buckets[index] for row in rows), ZERO) for index in range(len(BUCKETS)))
    return totals, sum((row.total for row in rows), ZERO)
