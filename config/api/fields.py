"""Serializer fields for the API's edges: months as YYYY-MM, decimals read by the one decimal parser."""

import re
from datetime import date

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from rebates.engine.money import DecimalInputError, parse_decimal

MONTH_PATTERN = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"
MONTH = re.compile(MONTH_PATTERN.replace("$", r"\Z"))


def parse_month(value) -> date:
    """A "YYYY-MM" text as the first of that month; ValueError otherwise."""
    text = str(value).strip()
    if not MONTH.match(text):
        raise ValueError(value)
    return date(int(text[:4]), int(text[5:]), 1)


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-03"})
class MonthField(serializers.Field):
    """A month: YYYY-MM at the edge, the first of the month inside."""

    default_error_messages = {"invalid": "A month as YYYY-MM."}

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
