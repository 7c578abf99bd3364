"""JSON in with exact numbers: a JSON number becomes a Decimal, never a float."""

import codecs
import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


class DecimalJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.load(codecs.getreader(encoding)(stream), parse_float=Decimal,
                             parse_constant=_refuse_constant)
        except ValueError as exc:
            raise ParseError(f"The body is not valid JSON: {exc}") from exc
