"""The conversion rule on its own (rebates/currencies.py): exact Decimal arithmetic, half-up per line, the
month's own rate or none."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rebates.currencies import CurrencyError, checked_code, convert_amount, convert_line, missing_rate_reason

# Exact decimals built from whole numbers of their smallest step (cheaper to draw than st.decimals).
amounts = st.integers(-(10**10) + 1, 10**10 - 1).map(lambda cents: Decimal(cents).scaleb(-2))
prices = st.integers(0, 10**10 - 1).map(lambda steps: Decimal(steps).scaleb(-4))
rates = st.integers(1, 10**14 - 1).map(lambda steps: Decimal(steps).scaleb(-10))


def test_march_euros_convert_half_up_to_the_cent():
    converted = convert_line(Decimal("12.10"), Decimal("121.05"), Decimal("1.0855"))
    assert (converted.amount, converted.unit_price) == (Decimal("131.40"), Decimal("13.1346"))


def test_a_half_cent_rounds_away_from_zero_for_credit_notes_too():
    assert convert_line(Decimal("1"), Decimal("0.01"), Decimal("0.5")).amount == Decimal("0.01")
    assert convert_line(Decimal("1"), Decimal("-0.01"), Decimal("0.5")).amount == Decimal("-0.01")


@given(amount=amounts, price=prices, rate=rates)
def test_each_line_is_its_exact_product_rounded_half_up_once(amount, price, rate):
    converted = convert_line(price, amount, rate)
    exact = amount * rate  # Decimal's default precision (28) holds 10 + 10 digits whole
    assert exact == amount.copy_abs() * rate * (1 if amount >= 0 else -1)
    assert converted.amount == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert abs(converted.amount - exact) <= Decimal("0.005")
    assert converted.unit_price == (price * rate).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    assert converted.amount == convert_amount(amount, rate)


@given(amount=amounts, rate=rates)
def test_a_credit_note_converts_to_the_opposite_of_its_line(amount, rate):
    assert convert_amount(-amount, rate) == -convert_amount(amount, rate)


@given(amount=amounts)
def test_a_rate_of_one_changes_nothing(amount):
    assert convert_amount(amount, Decimal(1)) == amount


def test_floats_are_refused():
    with pytest.raises(TypeError):
        convert_line(Decimal("1"), 12.5, Decimal("1.1"))
    with pytest.raises(TypeError):
        convert_amount(Decimal("1"), 1.1)


def test_a_rate_is_positive():
    with pytest.raises(ValueError):
        convert_line(Decimal("1"), Decimal("1"), Decimal("0"))


@pytest.mark.parametrize("code", ["USD", "EUR", "GBP", "JPY"])
def test_iso_codes_are_known(code):
    assert checked_code(code) == code


@pytest.mark.parametrize("code", ["usd", "XYZ", "EURO", "", None, "US"])
def test_anything_else_is_refused_with_the_code_named(code):
    with pytest.raises(CurrencyError, match="ISO 4217"):
        checked_code(code)


def test_the_reason_names_the_currency_pair_and_the_month():
    assert missing_rate_reason("EUR", "USD", date(2026, 3, 1)) == "No EUR rate to USD for 2026-03."


def test_a_line_too_large_once_converted_is_refused_not_rounded():
    with pytest.raises(CurrencyError, match="more than a line can hold"):
        convert_line(Decimal("1"), Decimal("99999999999999.99"), Decimal("1234567890.1234567890"))


def test_the_largest_figures_multiply_exactly():
    # 16 digits x 20 digits: more than Decimal's default 28 digits of precision.
    amount, rate = Decimal("12345678.91"), Decimal("1234.5678901234")
    assert convert_amount(amount, rate) == Decimal("15241578764.06")
