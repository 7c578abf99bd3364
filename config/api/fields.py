"""Serializer fields for the API's edges: months as YYYY-MM and days within the years the desk books, codes
that a URL carries, decimals read by the one decimal parser."""

import re
from datetime import date

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.validators import CODE_RULE, MONTH_RULE, validate_code, validate_day
from rebates.engine.money import DecimalInputError, parse_decimal

# config.validators' years, 2000 to 2099, spelled out so the schema says them too.
MONTH_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])$"
MONTH = re.compile(MONTH_PATTERN.replace("$", r"\Z"))
DAY_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"


def parse_month(value) -> date:
    """A "YYYY-MM" text (years 2000 to 2099) as the first of that month; ValueError otherwise."""
    text = str(value).strip()
    if not MONTH.match(text):
        raise ValueError(value)
    return date(int(text[:4]), int(text[5:]), 1)


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-03"})
class MonthField(serializers.Field):
    """A month: YYYY-MM at the edge (2000-01 to 2099-12), the first of the month inside."""

    default_error_messages = {"invalid": f"A month as YYYY-MM. {MONTH_RULE}"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        try:
            return parse_month(data)
        except ValueError:
            self.fail("invalid")

    def to_representation(self, value):
        return f"{value:%Y-%m}"


class ExactDecimalField(serializers.DecimalField):
    """A decimal at the API's edge, read by rebates.engine.money.parse_decimal (as forms, imports and
    services read theirs): a decimal string or a JSON number read exactly, never through a float."""

    def to_internal_value(self, data):
        try:
            return parse_decimal(data, places=self.decimal_places, digits=self.max_digits)
        except DecimalInputError as error:
            raise serializers.ValidationError(str(error), code="invalid") from None


@extend_schema_field({"type": "string", "format": "date", "pattern": DAY_PATTERN, "example": "2026-03-31"})
class DayField(serializers.DateField):
    """A date as YYYY-MM-DD, from 2000-01-01 to 2099-12-31."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", []).append(validate_day)
        super().__init__(**kwargs)


class NamedRowField(serializers.SlugRelatedField):
    """A row named by its code (or user name) that may be left empty with null. An empty text names no row
    and is refused, as the schema says (DRF would take it for null)."""

    def run_validation(self, data=serializers.empty):
        if data == "":
            raise serializers.ValidationError("Send null for none; an empty text names nothing.", code="blank")
        return super().run_validation(data)


class CodeField(serializers.CharField):
    """A code that names a row in URLs (customer ERP code, SKU, agreement number, program code)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validators", []).append(validate_code)
        kwargs["help_text"] = f"{kwargs.get('help_text') or ''} {CODE_RULE}".strip()
        super().__init__(**kwargs)
