"""Figures as a clerk reads them: $1,234.50, 1,000 units, 2.5%. The one spelling, for the kinds'
descriptions in the engine and for the pages' `money` filter."""

from decimal import ROUND_HALF_UP, Decimal

from .choices import RateType

# The currencies written with their sign; any other is written with its ISO code ("CHF 1,234.50").
CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£"}
# What a figure whose currency is not said is in: the book's usual currency.
USUAL_CURRENCY = "USD"


def currency_sign(currency=None) -> str:
    """What is written before an amount in `currency`: "$", "€", "£", else the code and a space ("CHF ")."""
    code = currency or USUAL_CURRENCY
    return CURRENCY_SIGNS.get(code, f"{code} ")


def money(value, places=2, currency=None) -> str:
    """$1,234.50 (negative as -$1,234.50; €1,234.50 in EUR, CHF 1,234.50 in CHF), rounded half up as
    floatformat does ($12.1050 is $12.11); '—' for nothing."""
    if value is None or value == "":
        return "—"
    value = Decimal(value).quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}{currency_sign(currency)}{abs(value):,.{int(places)}f}"


def plain(value) -> str:
    """A Decimal without trailing zeros: 1000.000 -> 1,000; 2.50 -> 2.5."""
    value = Decimal(value)
    return f"{value.normalize():,f}"


def money_in_currencies(amounts, places=2) -> str:
    """Amounts of several currencies, never added together: each in its own sign, by currency, joined by " · "
    ("€10.00 · $20.00"). `amounts` is a mapping or (currency, amount) pairs; one
    currency reads as `money` does, none as "—"."""
    pairs = sorted((amounts.items() if hasattr(amounts, "items") else amounts), key=lambda pair: pair[0] or "")
    if not pairs:
        return "—"
    return " · ".join(money(amount, places, currency) for currency, amount in pairs)


def rate_in_words(rate_type, rate, currency=None) -> str:
    """A rate as the rule means it: "2.5%" or "$0.25 a unit" ("€0.25 a unit" in EUR; four places when it has
    fractions of a cent)."""
    if rate is None:
        return "—"
    if rate_type == RateType.PERCENT:
        return f"{plain(rate)}%"
    places = 2 if Decimal(rate) == Decimal(rate).quantize(Decimal("0.01")) else 4
    return f"{money(rate, places, currency)} a unit"
