"""Template filters of the pages: money as a clerk reads it ($1,234.50), cheaper than floatformat on a
long table."""

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def money(value, places=2):
    """$1,234.50 (negative as -$1,234.50); '—' for nothing."""
    if value is None or value == "":
        return "—"
    value = Decimal(value)
    sign = "-" if value < 0 else ""
    return f"{sign}${abs(value):,.{int(places)}f}"
