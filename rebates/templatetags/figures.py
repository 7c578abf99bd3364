"""Template filters for figures: money as a clerk reads it ($1,234.50) and units (1,234), cheaper than
floatformat on a long table."""

from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()


@register.filter
def money(value, places=2):
    """$1,234.50 (negative as -$1,234.50), rounded half up as floatformat does ($12.1050 is $12.11); '—' for
    nothing."""
    if value is None or value == "":
        return "—"
    value = Decimal(value).quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{int(places)}f}"


@register.filter
def units(value):
    """A quantity as a whole number with thousands separators, rounded half up: 1,234 ('—' for nothing)."""
    if value is None or value == "":
        return "—"
    whole = Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{whole if whole else Decimal(0):,f}"  # no "-0"
