"""Finance reports in the reporting currency (settings.REPORTING_CURRENCY), beside each agreement's own.

One step over a report's rows: each row (a month, the currency of the agreements it sums, an amount) is
converted at that month's rate from its currency into the reporting currency (rebates.currencies: the month's
own rate, never a neighbour's, half-up to the cent, row by row); a row already in the reporting currency is
taken as it is. A month without the rate converts to None, and the report names the rate it lacks instead of
guessing. The rates used are listed with the report.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings

from rebates.currencies import convert_amount
from rebates.models import ExchangeRate


@dataclass(frozen=True)
class RateUsed:
    currency: str
    to_currency: str
    month: date
    rate: Decimal | None  # None: missing, the rows it would convert are left unconverted


@dataclass(frozen=True)
class Reported:
    """The rows' amounts in the reporting currency (None where a rate is missing), in the rows' order."""

    currency: str
    amounts: list[Decimal | None]
    rates: list[RateUsed]

    @property
    def missing(self) -> list[RateUsed]:
        return [rate for rate in self.rates if rate.rate is None]


def reporting_currency() -> str:
    return settings.REPORTING_CURRENCY


def rates_used(wanted: Iterable[tuple[str, date]], *, currency: str | None = None) -> tuple[str, list[RateUsed]]:
    """The reporting currency (`currency`, default the setting) and the rate into it of each (currency, month)
    wanted other than itself, by month then currency (rate None where missing): one read of the rates."""
    to = currency or reporting_currency()
    wanted = {(row_currency, month) for row_currency, month in wanted if row_currency != to}
    found = {}
    if wanted:
        found = {(rate.currency, rate.month): rate.rate for rate in ExchangeRate.objects.filter(
            to_currency=to, currency__in={key[0] for key in wanted}, month__in={key[1] for key in wanted})}
    return to, [RateUsed(row_currency, to, month, found.get((row_currency, month)))
                for row_currency, month in sorted(wanted, key=lambda key: (key[1], key[0]))]


def in_reporting_currency(rows: Iterable[tuple[date, str, Decimal]], *, currency: str | None = None) -> Reported:
    """(month, currency, amount) rows in the reporting currency (`currency`, default the setting), with the
    rates used (one read of the rates of the rows' months and currencies)."""
    rows = list(rows)
    to, rates = rates_used(((row_currency, month) for month, row_currency, _ in rows), currency=currency)
    found = {(rate.currency, rate.month): rate.rate for rate in rates}
    amounts = []
    for month, row_currency, amount in rows:
        if row_currency == to:
            amounts.append(amount)
        else:
            rate = found.get((row_currency, month))
            amounts.append(None if rate is None else convert_amount(amount, rate))
    return Reported(to, amounts, rates)


class RateBook:
    """Rates into the reporting currency for reports read a row at a time (the accrual sheet, the liability):
    the rates of `currencies` read once, then each figure converted by the stated rule (the month's own rate,
    half-up to the cent, row by row; a figure already in the reporting currency taken as it is). Remembers
    each rate it used and each it lacked, for the report's list of rates."""

    def __init__(self, currencies: Iterable[str], *, currency: str | None = None):
        self.currency = currency or reporting_currency()
        wanted = set(currencies) - {self.currency}
        self._rates = {}
        if wanted:
            self._rates = {(rate.currency, rate.month): rate.rate for rate in ExchangeRate.objects.filter(
                to_currency=self.currency, currency__in=wanted)}
        self._used: dict[tuple[str, date], Decimal | None] = {}

    def convert(self, amount: Decimal, currency: str, month: date) -> Decimal | None:
        """`amount` in `currency` in the reporting currency at `month`'s rate; None when that rate is missing."""
        if currency == self.currency:
            return amount
        key = (currency, month)
        rate = self._used.get(key, False)
        if rate is False:
            rate = self._used[key] = self._rates.get(key)
        return None if rate is None else convert_amount(amount, rate)

    @property
    def rates(self) -> list[RateUsed]:
        """The rates used and lacked, by month and currency."""
        return [RateUsed(currency, self.currency, month, rate)
                for (currency, month), rate in sorted(self._used.items(), key=lambda item: (item[0][1], item[0][0]))]

    @property
    def missing(self) -> list[RateUsed]:
        return [rate for rate in self.rates if rate.rate is None]
