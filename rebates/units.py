"""Units of measure: a line sent in a box or a case is stored in the product's base unit, exactly.

Pure: no Django, no database. A product has a base unit ("each") and conversions, each a unit code and how
many base units one of it holds (box = 50, case = 600). A quantity in a unit converts to base units by one
exact multiplication; it must land on the quantity column's three decimal places, or it is refused (never
rounded). The price per base unit is the price per unit divided by the unit's base quantity, rounded half-up
to the unit-price column's four places: the line's amount is stored as sent, so no money depends on it.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Context, Decimal, Inexact

QUANTITY_STEP = Decimal("0.001")
UNIT_PRICE_STEP = Decimal("0.0001")
# Digits in all of the quantity column (max_digits): a conversion past it is refused, not rounded.
QUANTITY_DIGITS = 14
# Enough precision that a product of two stored figures (14 and 20 digits) is computed exactly.
_EXACT = Context(prec=60, traps=[Inexact])


class UnitError(ValueError):
    """A line's unit cannot be used for its product; the text says why (shown beside the field `unit`)."""


@dataclass(frozen=True)
class ProductUnits:
    """A product's base unit code and its conversions {unit code: base units in one of that unit}."""

    base_unit: str
    conversions: Mapping[str, Decimal] = field(default_factory=dict)

    def base_quantity_of(self, unit: str) -> Decimal:
        """Base units in one `unit`: 1 for the base unit (or no unit), the conversion otherwise."""
        if not unit or unit == self.base_unit:
            return Decimal(1)
        try:
            return self.conversions[unit]
        except KeyError:
            known = ", ".join(sorted({self.base_unit, *self.conversions}))
            raise UnitError(f"Unknown unit {unit!r} for this product; its units are: {known}.") from None


def is_base(units: ProductUnits, unit: str | None) -> bool:
    """True when a line in `unit` is in the product's base unit (no unit given counts as the base unit)."""
    return not unit or unit == units.base_unit


def to_base(quantity: Decimal, base_quantity: Decimal) -> Decimal:
    """`quantity` of a unit holding `base_quantity` base units, in base units: exact, three places at most.

    Raises UnitError when the product has more than three decimal places or more digits than a stored
    quantity holds (a quantity is never rounded)."""
    _check(quantity, "quantity")
    _check(base_quantity, "base quantity")
    if base_quantity <= 0:
        raise ValueError("a unit holds a positive number of base units")
    base = _EXACT.multiply(quantity, base_quantity)
    try:
        exact = base.quantize(QUANTITY_STEP, context=_EXACT)
    except Inexact:
        raise UnitError(f"{quantity} x {base_quantity} = {base} base units: more than 3 decimal places.") from None
    if exact.adjusted() >= QUANTITY_DIGITS - 3:
        raise UnitError(f"{quantity} x {base_quantity} base units is more than a line can hold.")
    return exact


def from_base(base: Decimal, base_quantity: Decimal) -> Decimal:
    """Base units as a quantity of a unit holding `base_quantity` of them; exact (raises Inexact when the
    quotient has no exact decimal form, which never happens for a quantity made by `to_base`)."""
    _check(base, "quantity")
    _check(base_quantity, "base quantity")
    return _EXACT.divide(base, base_quantity)


def price_per_base(unit_price: Decimal, base_quantity: Decimal) -> Decimal:
    """A price per unit (holding `base_quantity` base units) as a price per base unit, rounded half-up to
    four places. Shown, never booked: the line's amount is what percent rules read."""
    _check(unit_price, "unit price")
    _check(base_quantity, "base quantity")
    return (unit_price / base_quantity).quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP)


def _check(value, name: str) -> None:
    # Floats are refused: their binary value is not the figure meant.
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{name} must be a finite Decimal, got {type(value).__name__} {value!r}")
