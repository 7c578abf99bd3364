from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rebates.engine.lines import PurchaseLine
from rebates.engine.money import (
    DecimalInputError,
    as_decimal,
    parse_decimal,
    parse_price,
    quantize_money,
    quantize_unit_price,
)


def test_half_a_cent_rounds_up():
    assert quantize_money(Decimal("0.125")) == Decimal("0.13")


def test_negative_half_a_cent_rounds_away_from_zero():
    assert quantize_money(Decimal("-0.125")) == Decimal("-0.13")


def test_below_half_a_cent_rounds_down():
    assert quantize_money(Decimal("0.124999")) == Decimal("0.12")


def test_quantized_money_has_two_places():
    assert quantize_money(Decimal("3")).as_tuple().exponent == -2


def test_quantize_money_refuses_a_float():
    with pytest.raises(TypeError, match="Decimal"):
        quantize_money(0.125)


def test_rebate_per_unit_keeps_four_places():
    assert quantize_unit_price(Decimal("0.00125")) == Decimal("0.0013")


def test_as_decimal_accepts_an_int_exactly():
    assert as_decimal("quantity", 10) == Decimal("10")


@pytest.mark.parametrize("value", [0.1, True, "1.00", None])
def test_as_decimal_refuses_anything_but_decimal_or_int(value):
    with pytest.raises(TypeError, match="quantity must be a Decimal"):
        as_decimal("quantity", value)


# --- the one decimal parser of the edges (API, forms, imports, services) ------------------------------------


@pytest.mark.parametrize(("sent", "read"), [
    ("12.50", Decimal("12.50")), (" 12.5 ", Decimal("12.5")), ("1.500", Decimal("1.500")), (7, Decimal(7)),
    (Decimal("-3.25"), Decimal("-3.25")), ("99999999999.99", Decimal("99999999999.99")),
])
def test_parse_decimal_reads_strings_ints_and_decimals_exactly(sent, read):
    assert parse_decimal(sent, places=2, digits=13) == read


@pytest.mark.parametrize(("sent", "message"), [
    (12.5, "not a floating-point number"), (True, "decimal number"), (None, "decimal number"),
    ("abc", "decimal number"),
    ("NaN", "finite"), ("Infinity", "finite"), ("12.505", "at most 2 decimal places"),
    ("100000000000", "at most 11 digits before the decimal point"), ([1], "decimal number"),
])
def test_parse_decimal_refuses_what_is_not_an_exact_figure_and_says_why(sent, message):
    with pytest.raises(DecimalInputError) as caught:
        parse_decimal(sent, places=2, digits=13)
    assert message in str(caught.value)


def test_parse_price_refuses_zero_and_below():
    assert parse_price("11.40") == Decimal("11.40")
    for price in ("0", "-1"):
        with pytest.raises(DecimalInputError, match="more than zero"):
            parse_price(price)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**11 + 1, max_value=10**11 - 1))
def test_parse_decimal_gives_back_every_figure_it_is_sent_as_text(number):
    assert parse_decimal(str(number), places=2, digits=13) == number


@pytest.mark.parametrize(("month", "quantity", "amount", "error"), [
    (date(2026, 3, 15), Decimal("1"), Decimal("2.00"), ValueError),
    (datetime(2026, 3, 1), Decimal("1"), Decimal("2.00"), TypeError),
    (date(2026, 3, 1), 1.0, Decimal("2.00"), TypeError),
    (date(2026, 3, 1), Decimal("1"), 2.0, TypeError),
])
def test_a_purchase_line_refuses_a_day_a_timestamp_or_a_float(month, quantity, amount, error):
    with pytest.raises(error):
        PurchaseLine(month, quantity, amount)


def test_a_purchase_line_takes_an_int_as_an_exact_decimal():
    line = PurchaseLine(date(2026, 3, 1), 3, Decimal("2.00"))
    assert line.quantity == Decimal(3) and type(line.quantity) is Decimal
