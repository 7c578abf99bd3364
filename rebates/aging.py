"""The aged liability: the unpaid rebate by how long ago it was earned (docs/finance-reports.md), per
customer, program or account manager. Every read starts from `visible_to(user)`."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Case, Q, Sum, Value, When

from rebates.engine.periods import month_of
from rebates.models import EARNED_KINDS, LedgerEntry
from rebates.sql import aging as sql

ZERO = Decimal("0.00")
# The buckets' upper bounds in days (the last bucket is everything older).
BOUNDS = (90, 180, 365)
BUCKETS = ("0–90 days", "91–180 days", "181–365 days", "over 365 days")
PAID = 9  # the bucket of payouts and forfeitures
GROUPS = {"customer": "Customer", "program": "Program", "manager": "Account manager"}


@dataclass(frozen=True)
class AgedRow:
    """One customer's, program's or account manager's unpaid rebate by age bucket, and in all."""

    key: int | None
    code: str
    name: str
    buckets: tuple[Decimal, Decimal, Decimal, Decimal]
    total: Decimal


def bucket_starts(as_of: date) -> tuple[date, date, date]:
    """The first month of each of the three youngest buckets on `as_of`: a month is in the youngest bucket when
    its last day is at most BOUNDS[0] days before `as_of` (so from the month holding that day), and so on."""
    return tuple(month_of(as_of - timedelta(days=days)) for days in BOUNDS)


def aged_liability(*, user, as_of: date, group: str = "customer") -> list[AgedRow]:
    """The unpaid rebate of the entries the user may see, aged on `as_of`, per `group` (GROUPS), the largest
    first. A month's age is the days from its last day to `as_of` (months not yet ended: 0). Each agreement's
    unpaid balance (what it earned less what was paid and forfeited) sits in the youngest buckets: the newest
    bucket holds up to what its months earned (never below zero), the next the same, and so on; the oldest
    holds the rest. Payouts and forfeitures so use up the oldest months first, and the rows' totals add up to
    the unpaid liability. One query: the ledger summed per agreement, the buckets worked out beside it."""
    if group not in GROUPS:
        raise ValueError(f"group: one of {', '.join(GROUPS)}")
    first, second, third = bucket_starts(as_of)
    # One sum per agreement and bucket (payouts and forfeitures in a bucket of their own): a single sum a row.
    bucket = Case(When(~Q(kind__in=EARNED_KINDS), then=Value(PAID)), When(period__gte=first, then=Value(0)),
                  When(period__gte=second, then=Value(1)), When(period__gte=third, then=Value(2)), default=Value(3))
    balances = (LedgerEntry.objects.visible_to(user).order_by().annotate(bucket=bucket)
                .values("agreement_id", "bucket").annotate(amount=Sum("amount"))
                .values_list("agreement_id", "bucket", "amount"))
    balances_sql, balances_params = balances.query.sql_with_params()
    rows = sql.aged_liability_rows(balances_sql=balances_sql, balances_params=balances_params, group=group)
    return [AgedRow(key, code or "—", name or "", (b1, b2, b3, b4), total)
            for key, code, name, b1, b2, b3, b4, total in rows]


def bucket_totals(rows: list[AgedRow]) -> tuple[tuple[Decimal, ...], Decimal]:
    """The buckets' totals over `rows`, and the grand total."""
    totals = tuple(sum((row.buckets[index] for row in rows), ZERO) for index in range(len(BUCKETS)))
    return totals, sum((row.total for row in rows), ZERO)
