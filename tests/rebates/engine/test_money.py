from decimal import Decimal

import pytest

from rebates.engine.money import as_decimal, quantize_money, quantize_unit_price


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
