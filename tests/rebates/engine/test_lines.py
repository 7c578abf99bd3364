"""Purchase lines, and the month totals the engine sums from them."""

from datetime import date
from decimal import Decimal

from rebates.engine.lines import MonthTotal, PurchaseLine, monthly_totals, totals_as_lines


def test_month_totals_sum_each_month_from_zero():
    march, april = date(2026, 3, 1), date(2026, 4, 1)
    lines = [PurchaseLine(march, Decimal("2.000"), Decimal("20.00")),
             PurchaseLine(april, Decimal("1E+1"), Decimal("5")),
             PurchaseLine(march, Decimal("-1.000"), Decimal("-10.00"))]
    totals = monthly_totals(lines)
    assert totals == {march: MonthTotal(Decimal("1.000"), Decimal("10.00")),
                      april: MonthTotal(Decimal("10"), Decimal("5"))}
    assert str(totals[april].quantity) == "10"  # 0 + 1E+1, as a sum of Decimals writes it
    assert monthly_totals(lines, product="X") == {}


def test_a_months_totals_as_lines_sum_back_to_them():
    march, april = date(2026, 3, 1), date(2026, 4, 1)
    totals = {march: MonthTotal(Decimal("1.000"), Decimal("10.00")),
              april: MonthTotal(Decimal("-2.500"), Decimal("-5.25"))}
    lines = totals_as_lines(totals)
    assert lines == (PurchaseLine(march, Decimal("1.000"), Decimal("10.00")),
                     PurchaseLine(april, Decimal("-2.500"), Decimal("-5.25")))
    assert monthly_totals(lines) == totals
