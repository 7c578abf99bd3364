"""Lines as read from the database, and the month totals the engine sums from them."""

from dataclasses import FrozenInstanceError
from datetime import date
from decimal import Decimal

import pytest

from rebates.engine.lines import MonthTotal, PurchaseLine, monthly_totals, read_line


def test_a_line_read_is_the_line_made():
    made = PurchaseLine(date(2026, 3, 1), Decimal("12.000"), Decimal("-1E+1"))
    read = read_line(date(2026, 3, 1), Decimal("12.000"), Decimal("-1E+1"))
    assert read == made
    assert hash(read) == hash(made)
    assert repr(read) == repr(made)
    with pytest.raises(FrozenInstanceError):
        read.quantity = Decimal("1")


def test_a_line_read_is_checked_as_a_made_one_outside_the_common_case():
    with pytest.raises(TypeError, match="amount must be a Decimal"):
        read_line(date(2026, 3, 1), Decimal("1"), "2.50")
    with pytest.raises(ValueError):
        read_line(date(2026, 3, 2), Decimal("1"), Decimal("2.50"))


def test_month_totals_sum_each_month_from_zero():
    march, april = date(2026, 3, 1), date(2026, 4, 1)
    lines = [read_line(march, Decimal("2.000"), Decimal("20.00")), read_line(april, Decimal("1E+1"), Decimal("5")),
             read_line(march, Decimal("-1.000"), Decimal("-10.00"))]
    totals = monthly_totals(lines)
    assert totals == {march: MonthTotal(Decimal("1.000"), Decimal("10.00")),
                      april: MonthTotal(Decimal("10"), Decimal("5"))}
    assert str(totals[april].quantity) == "10"  # 0 + 1E+1, as a sum of Decimals writes it
    assert monthly_totals(lines, product="X") == {}
