"""rebates.units, pure: a quantity in a box or a case converts to base units exactly, and back."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rebates.units import ProductUnits, UnitError, from_base, price_per_base, to_base

WIDGET = ProductUnits("each", {"box": Decimal(50), "case": Decimal(600)})

# Quantities as the ERP sends them: up to three decimal places, a credit note negative.
quantities = st.decimals(min_value=Decimal("-99999"), max_value=Decimal("99999"), places=3, allow_nan=False,
                         allow_infinity=False)
# Units of whole base units (a box of 50, a pallet of 2,400) and of fractional ones (a 0.5 kg bag).
unit_sizes = st.one_of(st.integers(min_value=1, max_value=10_000).map(Decimal),
                       st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3,
                                   allow_nan=False, allow_infinity=False))


def test_a_box_is_fifty_each_and_a_case_twelve_boxes():
    assert to_base(Decimal("3"), WIDGET.base_quantity_of("box")) == Decimal("150")
    assert to_base(Decimal("2"), WIDGET.base_quantity_of("case")) == to_base(Decimal("24"), Decimal(50))
    assert WIDGET.base_quantity_of("") == WIDGET.base_quantity_of("each") == Decimal(1)


def test_an_unknown_unit_is_refused_naming_the_units_there_are():
    with pytest.raises(UnitError, match="'pallet'.*box, case, each"):
        WIDGET.base_quantity_of("pallet")


def test_a_quantity_that_would_need_rounding_is_refused_not_rounded():
    with pytest.raises(UnitError, match="more than 3 decimal places"):
        to_base(Decimal("0.001"), Decimal("0.5"))


def test_a_float_is_refused():
    with pytest.raises(TypeError):
        to_base(1.5, Decimal(50))


def test_a_price_per_box_is_a_price_per_each_rounded_half_up_to_four_places():
    assert price_per_base(Decimal("12.10"), Decimal(50)) == Decimal("0.2420")
    assert price_per_base(Decimal("10.00"), Decimal(12)) == Decimal("0.8333")
    assert price_per_base(Decimal("0.0001"), Decimal(2)) == Decimal("0.0001")  # 0.00005 rounds up


@given(quantities, st.integers(min_value=1, max_value=10_000).map(Decimal))
def test_converting_into_a_whole_unit_and_back_is_exact(quantity, size):
    base = to_base(quantity, size)
    assert base == quantity * size
    assert from_base(base, size) == quantity


@given(quantities, unit_sizes)
def test_any_conversion_that_is_made_comes_back_exactly(quantity, size):
    try:
        base = to_base(quantity, size)
    except UnitError:
        return  # refused: it would have needed rounding
    assert from_base(base, size) == quantity


@given(st.lists(st.tuples(quantities, st.sampled_from(["each", "box", "case"])), min_size=1, max_size=20))
def test_the_base_total_of_a_batch_does_not_depend_on_the_unit_it_was_sent_in(sent):
    # The same purchases sent once in their units and once all in each: the same base total.
    in_units = [to_base(q, WIDGET.base_quantity_of(u)) for q, u in sent]
    in_each = [to_base(base, WIDGET.base_quantity_of("each")) for base in in_units]
    assert sum(in_units) == sum(in_each) == sum(q * WIDGET.base_quantity_of(u) for q, u in sent)
    assert [from_base(base, WIDGET.base_quantity_of(u)) for base, (_, u) in zip(in_units, sent, strict=True)] == [
        q for q, _ in sent]
