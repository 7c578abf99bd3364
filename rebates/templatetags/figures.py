"""Template filters for figures: money as a clerk reads it, in its currency's sign ($1,234.50, €1,234.50,
CHF 1,234.50), and units (1,234), cheaper than floatformat on a long table."""

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.conf import settings

from rebates.engine import words

register = template.Library()


@register.filter
def money(value, currency=None):
    """{{ amount|money:agreement.currency }}: the amount in its currency's sign (words.money, the engine's one
    spelling, which the rule kinds' descriptions use too). No currency: the default currency. A number instead
    of a currency gives the places, in the default currency ({{ ratio|money:4 }})."""
    if isinstance(currency, int) or (isinstance(currency, str) and currency.isdigit()):
        return words.money(value, int(currency), settings.DEFAULT_CURRENCY)
    return words.money(value, 2, currency or settings.DEFAULT_CURRENCY)


@register.filter
def figure_in(value, currency=""):
    """{{ price|figure_in:currency }}: a figure in `currency`'s sign, or without a sign when it has no one
    currency ("" or None: a figure over amounts in several currencies, which the page says beside it)."""
    if currency:
        return words.money(value, 2, currency)
    return amount(value)


@register.filter
def money_parts(amounts):
    """{{ totals|money_parts }}: amounts of several currencies ({currency: amount}) each in its own sign, never
    added together ("€10.00 · $20.00"); one currency as `money` writes it; none, 0.00 in the default currency."""
    if not amounts:
        return words.money(0, 2, settings.DEFAULT_CURRENCY)
    return words.money_in_currencies(amounts)


@register.filter
def unit_money(value, currency=None):
    """{{ month.rebate_per_unit|unit_money:agreement.currency }}: a price or rate a unit, to four places."""
    return words.money(value, 4, currency or settings.DEFAULT_CURRENCY)


@register.filter
def units(value):
    """A quantity as a whole number with thousands separators, rounded half up: 1,234 ('—' for nothing)."""
    if value is None or value == "":
        return "—"
    whole = Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{whole if whole else Decimal(0):,f}"  # no "-0"


@register.simple_tag
def period(start, end=None):
    """A period of months in words: {% period s.period_start s.period_end %} reads "November 2026"."""
    from rebates.wording import period_in_words

    return period_in_words(start, end) if start else "—"


@register.filter
def amount(value):
    """Money without a currency sign, for tables whose currency has a column of its own: 1,234.50, -20.00
    ('—' for nothing)."""
    return words.money(value).replace("$", "")
