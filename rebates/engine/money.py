"""Money in the engine: Decimal only, rounded half-up to the cent in one place."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
UNIT_PRICE_STEP = Decimal("0.0001")
ZERO = Decimal("0")
HUNDRED = Decimal("100")


def quantize_money(value: Decimal) -> Decimal:
    """Round an amount to the cent, half away from zero: 0.125 -> 0.13 and -0.125 -> -0.13.

    The one rounding of booked money: the engine calls it on every cumulative it books.
    """
    if not isinstance(value, Decimal):
        raise TypeError(f"money must be a Decimal, got {type(value).__name__}")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def quantize_unit_price(value: Decimal) -> Decimal:
    """Round a money-per-unit figure (rebate per unit) to four places, as unit prices are stored."""
    return value.quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP)


def as_decimal(name: str, value: object) -> Decimal:
    """Return `value` as a Decimal; ints are exact and accepted, floats (and anything else) are refused."""
    if isinstance(value, Decimal):
        return value
    # bool is an int subclass, and True as a quantity is always a bug.
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"{name} must be a Decimal, got {type(value).__name__} {value!r}")


def percent_of(percent: Decimal, amount: Decimal) -> Decimal:
    """`percent` % of `amount` (2 means 2 %), unrounded."""
    return percent * amount / HUNDRED
