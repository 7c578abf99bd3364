"""What every purchase file reader shares: the limits, the refusal, the lines read with where they came from,
and how a header row names the columns."""

import ctypes
import ctypes.util
from array import array
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache

from django.conf import settings

from rebates.services.purchases import FIELDS

XLSX_SIGNATURE = b"PK\x03\x04"
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls and password-protected workbooks
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRICT_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
WORKBOOK_TYPES = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
)
MACRO_EXTENSIONS = (".xlsm", ".xltm", ".xlam", ".xlsb")
# The template's headers, and the other names a finance clerk may give the same column.
HEADERS = {
    "erp_line_id": ("erp_line_id", "erp line id", "erp line", "line id"),
    "customer": ("customer", "customer code", "erp code", "customer erp code"),
    "product": ("product", "sku", "product sku"),
    "month": ("month", "period"),
    "quantity": ("quantity", "units", "qty"),
    "unit_price": ("unit_price", "unit price", "price"),
    "amount": ("amount", "net amount", "line amount"),
    # Optional: a file without it has every line in the product's base unit.
    "unit": ("unit", "uom", "unit of measure"),
    # Optional: a file without it has every line in its customer's currency.
    "currency": ("currency", "currency code", "ccy"),
}
_HEADER_FIELD = {name: field for field, names in HEADERS.items() for name in names}
# The columns a file is read for, as (header field, required fields): purchase lines unless a reader of
# another kind of file (exchange rates: rebates.imports.rates) says otherwise for its read.
COLUMNS: ContextVar[tuple[dict, dict, tuple] | None] = ContextVar("import_columns", default=None)
# Codes read as text (a code typed as a number is its digits), and months (a date cell is its month), in
# whichever kind of file holds them.
TEXT_FIELDS = ("erp_line_id", "customer", "product", "unit", "currency", "group", "member")
MONTH_FIELDS = ("month", "joined", "ended")
EXCEL_EPOCH = date(1899, 12, 30)
EXCEL_1904_EPOCH = date(1904, 1, 1)


def limit(name: str, default: int) -> int:
    return getattr(settings, f"PURCHASE_IMPORT_{name}", default)


def max_rows() -> int:
    """Purchase lines one file may hold (the header row not counted)."""
    return limit("MAX_ROWS", 1_000_000)


def max_file_bytes() -> int:
    return limit("MAX_FILE_BYTES", 200 * 1024 * 1024)


def max_members() -> int:
    """Members of an .xlsx archive (a purchase workbook has a dozen or so)."""
    return limit("MAX_MEMBERS", 500)


def max_uncompressed_bytes() -> int:
    """What all members of an .xlsx may declare they inflate to, together."""
    return limit("MAX_UNCOMPRESSED_BYTES", 768 * 1024 * 1024)


def max_ratio() -> int:
    """Inflated over compressed size of one member: sheets compress 5 to 30 times, zip bombs a thousand."""
    return limit("MAX_RATIO", 200)


MAX_CENTRAL_DIRECTORY = 2 * 1024 * 1024
MAX_SMALL_PART = 4 * 1024 * 1024  # [Content_Types].xml, the workbook and its relationships
MAX_SHARED_STRINGS = 2_000_000
MAX_CSV_LINE = 1024 * 1024
CHUNK = 1 << 20


class ImportRefused(Exception):
    """The file cannot be read (hostile, damaged, or not a purchase file); the message says why, plainly."""


class FileLine(Mapping):
    """One line of a file as a read-only mapping of its fields: the values in a tuple, the field names shared
    by every line of the file. Half a dict's size (a 100,000-line sheet holds some 15 MB less while it is
    read), and the ingest reads it as it reads the API's mappings."""

    __slots__ = ("_at", "_values")

    def __init__(self, at: dict[str, int], values: tuple):
        self._at = at
        self._values = values

    def __getitem__(self, field):
        return self._values[self._at[field]]

    def get(self, field, default=None):
        at = self._at.get(field)
        return default if at is None else self._values[at]

    def __iter__(self):
        return iter(self._at)

    def __len__(self):
        return len(self._at)

    def __repr__(self):
        return f"FileLine({dict(self)!r})"


def line_positions(fields) -> dict[str, int]:
    """{field: position} of a file's lines' values, in the order given (shared by its FileLines)."""
    return {field: position for position, field in enumerate(fields)}


def row_numbers() -> array:
    """Where each line is in the file, as 4-byte integers (a list of ints costs nine times that)."""
    return array("I")


@dataclass
class PurchaseFile:
    """The lines of a file as the ingest service takes them, with where each came from in the file."""

    lines: list[Mapping]
    rows: Sequence[int]  # the sheet's row number of each line (the header is row 1 in a template)
    columns: dict[str, tuple[str, str]]  # field -> (column letter, header as written)
    kind: str  # "xlsx" or "csv"

    def error_at(self, error: dict) -> dict:
        """An ingest error (line index, field) as the row and column of the file."""
        index = error.get("line")
        row = self.rows[index] if isinstance(index, int) and 0 <= index < len(self.rows) else None
        letter, header = self.columns.get(error.get("field"), (None, None))
        place = f"Row {row}" if row is not None else "File"
        if letter:
            place += f", column {letter} ({header})"
        return {"row": row, "column": letter, "field": error.get("field"), "erp_line_id": error.get("erp_line_id"),
                "message": f"{place}: {error.get('message')}"}



def memory_release() -> None:
    """Hand the pages the C heap has free back to the system (glibc's malloc_trim; nothing elsewhere). A
    parser's cells (python-calamine's copy of a sheet) are small allocations freed in place: without this the
    process keeps them resident, and the next step's objects come on top (some 20 MB for 100,000 lines)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


@cache
def _malloc_trim():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class NumberText(str):
    """The text of a numeric cell, kept apart from text cells until its column says what it is."""

    __slots__ = ()


def excel_number(text: str, *, integral_text: bool = False):
    """A numeric cell's text as an exact Decimal (a code or SKU typed as a number as its digits).

    Excel keeps numbers as doubles and shows 15 significant digits: a stored 36.299999999999997 is the
    36.3 the clerk typed and sees, so anything longer is read at Excel's 15 digits.
    """
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    if not number.is_finite():
        return text
    if len(number.as_tuple().digits) > 15:
        number = Decimal(format(number, ".15g")).normalize()
        if number.as_tuple().exponent > 0:
            number = number.quantize(Decimal(1))
    if integral_text:
        return str(int(number)) if number == number.to_integral_value() else text
    return number


def map_header(header: dict[int, str], *, letter) -> tuple[dict[int, str], dict[str, tuple[str, str]]]:
    """Which column holds which field, from the header row; refuses a missing or repeated column."""
    fields: dict[int, str] = {}
    columns: dict[str, tuple[str, str]] = {}
    header_field, required = _HEADER_FIELD, FIELDS
    if (other := COLUMNS.get()) is not None:
        header_field, required = other[1], other[2]
    for col, written in sorted(header.items()):
        field = header_field.get(" ".join(written.replace("_", " ").replace("-", " ").lower().split()))
        if field is None:
            field = header_field.get(written.strip().lower())
        if field is None:
            continue
        if field in columns:
            raise ImportRefused(f"Columns {columns[field][0]} and {letter(col)} both hold {field}: keep one.")
        fields[col] = field
        columns[field] = (letter(col), written.strip())
    missing = [field for field in required if field not in columns]
    if missing:
        raise ImportRefused(f"The first row must name the columns {', '.join(required)}; missing: "
                            f"{', '.join(missing)} (download the template).")
    return fields, columns
