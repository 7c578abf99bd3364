"""Money in the engine: Decimal only, rounded half-up to the cent in one place."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

CENT = Decimal("0.01")
UNIT_PRICE_STEP = Decimal("0.0001")
ZERO = Decimal("0")
ZERO_MONEY = Decimal("0.00")  # a sum of amounts before its first term: shows as 0.00
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


class DecimalInputError(ValueError):
    """A decimal figure given at an edge (API, form, import) that cannot be taken; its text says why."""


def parse_decimal(value: object, *, places: int, digits: int) -> Decimal:
    """The one reading of a decimal figure from outside: a decimal string (spaces around allowed), an int or
    a Decimal, with at most `places` decimal places and `digits` digits in all (a database column's
    max_digits and decimal_places). Floats are refused: their binary value is not the figure meant.

    Raises DecimalInputError with the message to show beside the field.
    """
    if type(value) is str:  # the common case first: the API, forms and files send text
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise DecimalInputError(NOT_A_DECIMAL) from None
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, float):
        raise DecimalInputError('Send the number as a decimal string (e.g. "12.50"), not a floating-point number.')
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    else:
        raise DecimalInputError(NOT_A_DECIMAL)
    if not number.is_finite():
        raise DecimalInputError("A finite decimal number.")
    step, limit = _bounds(places, digits)
    if not abs(number) < limit:
        raise DecimalInputError(f"Too large: at most {digits - places} digits before the decimal point.")
    # Trailing zeros beyond the places are fine ("1.500" for 1.50); other digits would be lost.
    if number.quantize(step) != number:
        raise DecimalInputError(f"A figure with at most {places} decimal places.")
    return number


def parse_price(value: object, *, places: int = 4, digits: int = 14) -> Decimal:
    """A unit price from outside: parse_decimal's figure, and more than zero."""
    price = parse_decimal(value, places=places, digits=digits)
    if price <= 0:
        raise DecimalInputError("The price must be more than zero.")
    return price


NOT_A_DECIMAL = 'A decimal number, e.g. "12.50".'


@cache
def _bounds(places: int, digits: int) -> tuple[Decimal, Decimal]:
    return Decimal(1).scaleb(-places), Decimal(10) ** (digits - places)


def percent_of(percent: Decimal, amount: Decimal) -> Decimal:
    """`percent` % of `amount` (2 means 2 %), unrounded."""
    return percent * amount / HUNDRED
