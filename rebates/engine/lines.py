"""Purchase lines as the engine sees them, and their totals per month."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from .money import ZERO, as_decimal
from .periods import require_month


@dataclass(frozen=True)
class PurchaseLine:
    """One purchase in a month: `quantity` units for a net `amount` (both negative for a credit note).

    `product` (a SKU) only matters for bonus conditions; scope filtering is the caller's job.
    """

    month: date
    quantity: Decimal
    amount: Decimal
    product: str = ""

    def __post_init__(self):
        # The common case (a first-of-month date and two Decimals, as read from the database) is checked
        # in one step: one line is made per agreement and month.
        if (type(self.month) is date and self.month.day == 1 and type(self.quantity) is Decimal
                and type(self.amount) is Decimal):
            return
        require_month("month", self.month)
        object.__setattr__(self, "quantity", as_decimal("quantity", self.quantity))
        object.__setattr__(self, "amount", as_decimal("amount", self.amount))


class MonthTotal(NamedTuple):
    """Net units and net amount of one month (a named pair: the engine makes one per agreement and month
    read, several times a night, and a pair is made in a third of a frozen dataclass's time)."""

    quantity: Decimal = ZERO
    amount: Decimal = ZERO


NOTHING_BOUGHT = MonthTotal()


def monthly_totals(lines: Iterable[PurchaseLine], *, product: str | None = None) -> dict[date, MonthTotal]:
    """Net quantity and amount per month, of every line or of one product's; line order is irrelevant."""
    sums: dict[date, MonthTotal] = {}
    found = sums.get
    total = MonthTotal
    for line in lines:
        if product is None or line.product == product:
            month = line.month
            before = found(month)
            # Each sum starts from ZERO, as a sum of Decimals does (0 + 1E+1 is written 10).
            if before is None:
                sums[month] = total(ZERO + line.quantity, ZERO + line.amount)
            else:
                sums[month] = total(before[0] + line.quantity, before[1] + line.amount)
    return sums


def totals_as_lines(totals: Mapping[date, MonthTotal]) -> tuple[PurchaseLine, ...]:
    """One line per month holding that month's totals: `monthly_totals` of them gives `totals` back."""
    return tuple(PurchaseLine(month, total.quantity, total.amount) for month, total in totals.items())
