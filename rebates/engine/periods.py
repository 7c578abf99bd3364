"""Months (first-of-month dates) and the settlement periods a term is cut into."""

from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache


class SettlementFrequency(StrEnum):
    ANNUAL = "annual"
    QUARTERLY = "quarterly"
    MONTHLY = "monthly"

    @property
    def months(self) -> int:
        """How many months one settlement period holds."""
        return {"annual": 12, "quarterly": 3, "monthly": 1}[self.value]


def require_month(name: str, value: object) -> date:
    """Return `value` if it is a first-of-month date; raise otherwise."""
    # datetime is a date subclass; a timestamp here means a caller mixed up days and months.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{name} must be a date, got {type(value).__name__}")
    if value.day != 1:
        raise ValueError(f"{name} must be the first of a month, got {value.isoformat()}")
    return value


def month_of(day: date) -> date:
    """The first of the month that `day` falls in."""
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    """The month `count` months after `month` (before it when negative)."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(earlier: date, later: date) -> int:
    """How many months `later` is after `earlier` (0 for the same month)."""
    return (later.year - earlier.year) * 12 + later.month - earlier.month


@lru_cache(maxsize=4096)  # the engine asks for every agreement's term, and terms share their months
def months_from(first: date, last: date) -> tuple[date, ...]:
    """Every month from `first` to `last`, both included; empty when `last` is before `first`."""
    return tuple(add_months(first, i) for i in range(months_between(first, last) + 1))


def period_start(term_start: date, frequency: SettlementFrequency, month: date) -> date:
    """First month of the settlement period holding `month`; periods are counted from the term start.

    A quarterly term from March has periods Mar-May, Jun-Aug, ...; an annual one from March runs to February.
    """
    length = SettlementFrequency(frequency).months
    return add_months(term_start, months_between(term_start, month) // length * length)
