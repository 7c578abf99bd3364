"""The aged liability: the unpaid rebate by how long ago it was earned (docs/finance-reports.md), per
customer, program or account manager. Every read starts from `visible_to(user)`."""

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q, Sum

from rebates.engine.periods import month_of
from rebates.models import EARNED_KINDS, AgreementBalance, LedgerEntry
from rebates.sql import aging as sql

ZERO = Decimal("0.00")
# The buckets' upper bounds in days (the last bucket is everything older).
BOUNDS = (90, 180, 365)
BUCKETS = ("0–90 days", "91–180 days", "181–365 days", "over 365 days")
GROUPS = {"customer": "Customer", "program": "Program", "manager": "Account manager"}
# What an agreement's balance is grouped by: the key of its customer, program or account manager.
_KEYS = {"customer": "agreement__customer_id", "program": "agreement__program_id",
         "manager": "agreement__customer__account_manager_id"}


class AgedRow(NamedTuple):
    """One customer's, program's or account manager's unpaid rebate by age bucket, and in all: a tuple made
    straight from a row of the statement (thousands of them)."""

    key: int | None
    code: str
    name: str
    days_0_90: Decimal
    days_91_180: Decimal
    days_181_365: Decimal
    over_365_days: Decimal
    total: Decimal

    @property
    def buckets(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """The four buckets, youngest first (BUCKETS)."""
        return self[3:7]


def bucket_starts(as_of: date) -> tuple[date, date, date]:
    """The first month of each of the three youngest buckets on `as_of`: a month is in the youngest bucket when
    its last day is at most BOUNDS[0] days before `as_of` (so from the month holding that day), and so on."""
    return tuple(month_of(as_of - timedelta(days=days)) for days in BOUNDS)


def aged_liability(*, user, as_of: date, group: str = "customer") -> list[AgedRow]:
    """The unpaid rebate of the agreements the user may see, aged on `as_of`, per `group` (GROUPS), the largest
    first. A month's age is the days from its last day to `as_of` (months not yet ended: 0). Each agreement's
    unpaid balance (what it earned less what was paid and forfeited) sits in the youngest buckets: the newest
    bucket holds up to what its months earned (never below zero), the next the same, and so on; the oldest
    holds the rest. Payouts and forfeitures so use up the oldest months first, and the rows' totals add up to
    the unpaid liability. One statement: the unpaid balances the ledger keeps per agreement
    (`AgreementBalance`) beside what each agreement earned in the three youngest buckets' months (the only
    entries read), the buckets filled per agreement and summed per group in the database."""
    if group not in GROUPS:
        raise ValueError(f"group: one of {', '.join(GROUPS)}")
    first, second, third = bucket_starts(as_of)
    balances = (AgreementBalance.objects.visible_to(user).exclude(unpaid=0).order_by()
                .values_list("agreement_id", _KEYS[group], "unpaid"))
    earned = (LedgerEntry.objects.visible_to(user).filter(kind__in=EARNED_KINDS, period__gte=third).order_by()
              .values("agreement_id")
              .annotate(e0=Sum("amount", filter=Q(period__gte=first)),
                        e1=Sum("amount", filter=Q(period__gte=second, period__lt=first)),
                        e2=Sum("amount", filter=Q(period__lt=second)))
              .values_list("agreement_id", "e0", "e1", "e2"))
    rows = sql.aged_liability_rows(balances=balances.query.sql_with_params(),
                                   earned=earned.query.sql_with_params(), group=group)
    return list(map(AgedRow._make, rows))


def bucket_totals(rows: list[AgedRow]) -> tuple[tuple[Decimal, ...], Decimal]:
    """The buckets' totals over `rows`, and the grand total."""
    totals = tuple(sum((row.buckets[index] for row in rows), ZERO) for index in range(len(BUCKETS)))
    return totals, sum((row.total for row in rows), ZERO)
