"""Currencies: a line sent in another currency than its customer's is converted at its month's rate.

Pure: no Django, no database. A rate says what one unit of a currency is worth in another in one month
(1 EUR = 1.0850 USD in 2026-03). The rule, stated once: a line converts at the rate of the line's own month,
from its currency straight into its customer's (never through a third currency, never the inverse of the
other way's rate, never a neighbouring month's); a month without that rate holds the line, never guesses.
A line's amount converts to `amount x rate` rounded half-up to the cent, its unit price to
`unit price x rate` rounded half-up to four places, each line on its own.
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Context, Decimal

from config.validators import ISO_CURRENCIES, currency_problem

CENT = Decimal("0.01")
UNIT_PRICE_STEP = Decimal("0.0001")
# A rate keeps this many decimal places (the column's), and at most this many digits in all.
RATE_PLACES = 10
RATE_DIGITS = 20
# Enough precision that the product of a stored figure (16 digits) and a rate (20) is exact before rounding.
_EXACT = Context(prec=60)
# The most a converted line may hold: its amount and unit price columns' digits before the point.
AMOUNT_LIMIT, UNIT_PRICE_LIMIT = Decimal(10) ** 14, Decimal(10) ** 10


class CurrencyError(ValueError):
    """A currency code that cannot be used; the text says why (shown beside the field `currency`)."""


def checked_code(code: str) -> str:
    """`code` when it is a known ISO 4217 code (three capitals: USD, EUR), else CurrencyError."""
    if not isinstance(code, str) or code not in ISO_CURRENCIES:
        raise CurrencyError(currency_problem(code))
    return code


@dataclass(frozen=True)
class Converted:
    """A line's figures in its customer's currency, and the rate they were converted at."""

    unit_price: Decimal
    amount: Decimal
    rate: Decimal


def convert_line(unit_price: Decimal, amount: Decimal, rate: Decimal) -> Converted:
    """A line's unit price and amount, in a currency worth `rate` of the customer's each, in the customer's
    currency: amount to the cent and unit price to four places, each rounded half-up (module docstring)."""
    for name, value in (("unit price", unit_price), ("amount", amount), ("rate", rate)):
        _check(value, name)
    if rate <= 0:
        raise ValueError("a rate is positive")
    converted = Converted(
        _EXACT.multiply(unit_price, rate).quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP, context=_EXACT),
        _EXACT.multiply(amount, rate).quantize(CENT, rounding=ROUND_HALF_UP, context=_EXACT), rate)
    if abs(converted.amount) >= AMOUNT_LIMIT or converted.unit_price >= UNIT_PRICE_LIMIT:
        raise CurrencyError(f"At {rate} this line converts to more than a line can hold.")
    return converted


def convert_amount(amount: Decimal, rate: Decimal) -> Decimal:
    """An amount in the reporting currency at `rate`, rounded half-up to the cent (reports: each line of a
    report converts on its own, as each purchase line does)."""
    _check(amount, "amount")
    _check(rate, "rate")
    return _EXACT.multiply(amount, rate).quantize(CENT, rounding=ROUND_HALF_UP, context=_EXACT)


def missing_rate_reason(currency: str, to_currency: str, month: date) -> str:
    """The words a held line carries: which rate it waits for."""
    return f"No {currency} rate to {to_currency} for {month:%Y-%m}."


def _check(value, name: str) -> None:
    # Floats are refused: their binary value is not the figure meant.
    if not isinstance(value, Decimal) or not value.is_finite():
        raise TypeError(f"{name} must be a finite Decimal, got {type(value).__name__} {value!r}")
