"""JSON in with exact numbers: a JSON number becomes a Decimal, never a float.

What no field can hold is refused here, naming where it is, before any serializer sees it: a body
nested deeper than MAX_DEPTH, text with a NUL character or a lone surrogate (a `\\ud800` escape that is
no character), and a body that is not UTF-8.
"""

import codecs
import json
from decimal import Decimal

from django.conf import settings
from rest_framework.parsers import JSONParser

from config.api.errors import ApiError, printable

# Objects and lists inside each other: a purchase batch is 2 deep, an agreement 4.
MAX_DEPTH = 32


def _refuse_constant(name):
    raise ValueError(f"{name} is not a number JSON allows")


def _refuse(message, path=()):
    """Raise the 400 naming `path` (the body itself when empty; for a list of purchase lines, the line and
    its field, as the ingest names them)."""
    parts = [printable(str(part)) for part in path]
    if len(path) > 1 and isinstance(path[0], int):
        detail = {"line": path[0], "field": ".".join(parts[1:]), "message": message}
    else:
        detail = {"field": ".".join(parts) or "body", "message": message}
    raise ApiError(f"{'.'.join(parts) or 'body'}: {message}", details=[detail])


TOO_DEEP = f"Nested too deep: at most {MAX_DEPTH} levels of objects and lists."


def _check_text(text, path):
    if "\x00" in text:
        _refuse("Must not contain NUL characters.", path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        _refuse("Must be valid Unicode text (a lone surrogate is not a character).", path)


def check_body(data) -> None:
    """Raise ApiError naming a place in `data` nested too deep or holding text that no field can hold."""
    stack = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            _check_text(value, path)
        elif isinstance(value, dict | list):
            if len(path) >= MAX_DEPTH:
                _refuse(TOO_DEEP, path)
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_text(key, (*path, key))
                    stack.append((item, (*path, key)))
            else:
                stack.extend((item, (*path, index)) for index, item in enumerate(value))


class DecimalJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            data = json.load(codecs.getreader(encoding)(stream), parse_float=Decimal,
                             parse_constant=_refuse_constant)
        except UnicodeDecodeError as exc:
            _refuse(f"Not valid {encoding} text ({exc.reason} at byte {exc.start}).")
        except RecursionError:
            _refuse(TOO_DEEP)
        except ValueError as exc:
            _refuse(f"Not valid JSON: {exc}")
        check_body(data)
        return data
