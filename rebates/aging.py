"""The aged liability: the unpaid rebate by how long ago it was earned (docs/finance-reports.md), per
customer, program or account manager and currency of the agreements, and in the reporting currency at the
rate of the month aged on (docs/currencies.md). Every read starts from `visible_to(user)`."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import NamedTuple

from django.db.models import F, Value

from rebates.currencies import convert_amount
from rebates.engine.periods import month_of
from rebates.models import AgreementBalance, ExchangeRate
from rebates.reporting import RateUsed, reporting_currency
from rebates.sql import aging as sql

ZERO = Decimal("0.00")
# The buckets' upper bounds in days (the last bucket is everything older).
BOUNDS = (90, 180, 365)
BUCKETS = ("0–90 days", "91–180 days", "181–365 days", "over 365 days")
GROUPS = {"customer": "Customer", "program": "Program", "manager": "Account manager"}
# What an agreement's balance is grouped by: the key of its customer (which the balance carries), program or
# account manager.
_KEYS = {"customer": "customer_id", "program": "agreement__program_id",
         "manager": "agreement__customer__account_manager_id"}


def amount_of(cents: int) -> Decimal:
    """An amount in integer cents as the Decimal with two places it stands for (exact: 1234 -> 12.34)."""
    return Decimal(cents).scaleb(-2)


def cents_text(cents: int) -> str:
    """An amount in integer cents written with two places (-1205 -> "-12.05"), exactly, making no Decimal."""
    whole, cent = divmod(abs(cents), 100)
    return f"{'-' if cents < 0 else ''}{whole}.{cent:02d}"


class AgedRow(NamedTuple):
    """One customer's, program's or account manager's unpaid rebate in one currency (that of the agreements it
    sums) by age bucket, and in all; whether that is the reporting currency, and the rate into it when not. A
    tuple made from a row of the statement (thousands of them): the figures stay the statement's exact integer
    cents, made into amounts (Decimals with two places), and converted, only where a page, a sheet or the API
    reads them (`buckets`, `total`, `reporting`)."""

    key: int | None
    code: str
    name: str
    currency: str
    days_0_90_cents: int
    days_91_180_cents: int
    days_181_365_cents: int
    over_365_days_cents: int
    total_cents: int
    in_reporting_currency: bool
    # The rate of the row's currency into the reporting currency (None when in it already, or missing).
    rate: Decimal | None

    @property
    def buckets(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        """The four buckets, youngest first (BUCKETS)."""
        return tuple(map(amount_of, self[4:8]))

    @property
    def total(self) -> Decimal:
        return amount_of(self.total_cents)

    @property
    def cents(self) -> tuple[int, int, int, int, int]:
        """The four buckets and the total in integer cents."""
        return self[4:9]

    @property
    def figures(self) -> tuple[tuple[Decimal, ...], tuple[Decimal, ...] | None]:
        """The four buckets and the total, and the same five in the reporting currency (None when the rate is
        missing), made once: what a page or a sheet shows of the row. In another currency each bucket converts
        on its own, half-up to the cent, and the total is their sum, so the rows add up in the reporting
        currency too."""
        own = tuple(map(amount_of, self[4:9]))
        if self.in_reporting_currency:
            return own, own
        if self.rate is None:
            return own, None
        converted = tuple(convert_amount(amount, self.rate) for amount in own[:4])
        return own, (*converted, sum(converted, ZERO))

    @property
    def reporting(self) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal] | None:
        """The four buckets and the total in the reporting currency; None when the rate is missing."""
        return self.figures[1]

    @property
    def reporting_buckets(self) -> tuple[Decimal, Decimal, Decimal, Decimal] | None:
        reporting = self.reporting
        return None if reporting is None else reporting[:4]

    @property
    def reporting_total(self) -> Decimal | None:
        reporting = self.reporting
        return None if reporting is None else reporting[4]


# A row straight from the statement's tuple, with no Python call per row.
_row = partial(tuple.__new__, AgedRow)


@dataclass(frozen=True)
class AgedLiability:
    """The aged liability on `as_of` per `group`: its rows (the largest first), the reporting currency and the
    rates used into it (the month aged on's; a missing one with rate None)."""

    as_of: date
    group: str
    rows: list[AgedRow]
    reporting_currency: str
    rate_month: date  # the month whose rates convert every row
    rates: tuple[RateUsed, ...] = ()

    @property
    def complete(self) -> bool:
        """Every row has its reporting figures: no rate is missing."""
        return all(rate.rate is not None for rate in self.rates)

    @property
    def totals_per_currency(self) -> list[tuple[str, tuple[Decimal, ...], Decimal]]:
        """(currency, its buckets' totals, its total) per currency of the rows, the reporting currency first."""
        currencies = sorted({row.currency for row in self.rows}, key=lambda c: (c != self.reporting_currency, c))
        return [(currency, *bucket_totals([row for row in self.rows if row.currency == currency]))
                for currency in currencies]

    @property
    def reporting_totals(self) -> tuple[tuple[Decimal, ...], Decimal] | None:
        """The buckets' totals and the total in the reporting currency: the sums of the rows' reporting figures
        (None when a rate is missing)."""
        if not self.complete:
            return None
        # The rows already in the reporting currency add up in cents; the others' converted amounts are added.
        cents = [0] * (len(BUCKETS) + 1)
        sums = [ZERO] * (len(BUCKETS) + 1)
        for row in self.rows:
            figures, add_to = (row.cents, cents) if row.in_reporting_currency else (row.reporting, sums)
            for index, figure in enumerate(figures):
                add_to[index] += figure
        sums = [amount + amount_of(in_cents) for amount, in_cents in zip(sums, cents, strict=True)]
        return tuple(sums[:-1]), sums[-1]


def bucket_starts(as_of: date) -> tuple[date, date, date]:
    """The first month of each of the three youngest buckets on `as_of`: a month is in the youngest bucket when
    its last day is at most BOUNDS[0] days before `as_of` (so from the month holding that day), and so on."""
    return tuple(month_of(as_of - timedelta(days=days)) for days in BOUNDS)


def aged_liability(*, user, as_of: date, group: str = "customer") -> AgedLiability:
    """The unpaid rebate of the agreements the user may see, aged on `as_of`, per `group` (GROUPS) and currency
    of the agreements, the largest first. A month's age is the days from its last day to `as_of` (months not
    yet ended: 0). Each agreement's unpaid balance (what it earned less what was paid and forfeited) sits in the
    youngest buckets: the newest bucket holds up to what its months earned (never below zero), the next the
    same, and so on; the oldest holds the rest. Payouts and forfeitures so use up the oldest months first, and
    the rows' totals add up to the unpaid liability. One statement: the unpaid balances the ledger keeps per
    agreement (`AgreementBalance`) beside what each agreement earned in the three youngest buckets' months (the only
    entries read), the buckets filled per agreement and summed per group and currency in the database.

    Each row in another currency than the reporting one converts once, at the rate of the month holding
    `as_of` (the liability is valued on that day): each bucket half-up to the cent (`convert_amount`, as the
    row's figures are read), the row's total the sum of its converted buckets, so the rows add up in the
    reporting currency too. A currency without that month's rate leaves its rows unconverted and is named in
    `rates`, never guessed."""
    if group not in GROUPS:
        raise ValueError(f"group: one of {', '.join(GROUPS)}")
    # The last month before each of the three youngest buckets, as the balances' running sums number months.
    through = tuple(start.year * 12 + start.month - 2 for start in bucket_starts(as_of))
    # A customer's agreements all book in its currency: the statement reads it with the customer's code and
    # name, so the balances need no join to the customers for it.
    currency = Value("") if group == "customer" else F("agreement__customer__currency")
    balances = (AgreementBalance.objects.visible_to(user).exclude(unpaid=0).order_by()
                .values_list(_KEYS[group], currency, "unpaid", "earned_cents"))
    to, month = reporting_currency(), month_of(as_of)
    # The month's rates into the reporting currency (a handful), given to the statement to hand each row its own.
    known = dict(ExchangeRate.objects.filter(to_currency=to, month=month).exclude(currency=to)
                 .values_list("currency", "rate"))
    rows = list(map(_row, sql.aged_liability_rows(
        balances=balances.query.sql_with_params(), through=through, group=group,
        reporting_currency=to, rates=known)))
    present = {row.currency for row in rows if not row.in_reporting_currency}
    rates = tuple(RateUsed(currency, to, month, known.get(currency)) for currency in sorted(present))
    return AgedLiability(as_of, group, rows, to, month, rates)


def bucket_totals(rows: list[AgedRow]) -> tuple[tuple[Decimal, ...], Decimal]:
    """The buckets' totals over `rows`, and the grand total."""
    totals = tuple(amount_of(sum(row[4 + index] for row in rows)) for index in range(len(BUCKETS)))
    return totals, amount_of(sum(row.total_cents for row in rows))
