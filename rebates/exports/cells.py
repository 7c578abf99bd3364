"""What every sheet shares: typed cells, formats, and no cell a spreadsheet would run as a formula (R14).

One rule says which texts a spreadsheet would run: `starts_formula`. In .xlsx every text goes through
`write_string`, so it is stored as text whatever it starts with (XlsxWriter's generic write would turn
"{=...}" into an array formula even with strings_to_formulas off), and a text that starts a formula also
carries Excel's quote prefix, so editing the cell does not turn it into one. In .csv every cell goes through
`csv_cell`: a text that starts a formula gets a leading single quote, which spreadsheets show and never run,
and so does every part of it after a separator or a line break (where a reader of another locale starts a
new cell); a text holding a separator of any common locale, a quote or a line break is quoted.
"""

import io
import re
from datetime import date, datetime
from decimal import Decimal

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name
from xlsxwriter.worksheet import Worksheet

from rebates.engine.words import currency_sign

# =, +, -, @, tab and carriage return (and the full-width =, +, -, @, which some spreadsheets read as their
# ASCII forms) start a formula or a DDE call when a spreadsheet opens the file, after any leading spaces.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_FORMULA_START = "\\s*[" + re.escape("".join(FORMULA_TRIGGERS)) + "]"
# Where a spreadsheet reading the file in some locale starts a new cell or row: comma, semicolon, tab, pipe,
# and line breaks.
CSV_SEPARATORS = ",;\t|\r\n"
_STARTS_FORMULA = re.compile(_FORMULA_START)
_SEPARATOR_BEFORE_FORMULA = re.compile(f"([{re.escape(CSV_SEPARATORS)}])(?={_FORMULA_START})")
_NEEDS_QUOTES = re.compile(f'[{re.escape(CSV_SEPARATORS)}"]')


def money_format(currency: str | None = None, places: int = 2) -> str:
    """Excel's number format for amounts in `currency`: its sign before the figure ("$", "€", "£", else the
    ISO code: "CHF "), thousands separated, negatives red with a minus (`words.currency_sign`)."""
    sign = currency_sign(currency).replace('"', "")
    figure = "#,##0." + "0" * places
    return f'"{sign}"{figure};[Red]-"{sign}"{figure}'


MONEY_FORMAT = money_format("USD")
UNIT_PRICE_FORMAT = money_format("USD", 4)
# Units with thousands separators: whole units as 1,250, the rest with up to three places (1,250.5). One
# format cannot do both ("#,##0.###" shows a whole number as "1,250."), so each cell takes the one it needs.
QUANTITY_FORMAT = "#,##0"
FRACTION_QUANTITY_FORMAT = "#,##0.###"
# The totals row sums the rows the filter shows: SUBTOTAL's function 109 is SUM leaving hidden rows out.
SUBTOTAL_SUM = 109
MONTH_FORMAT = "mmm yyyy"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
_EXCEL_EPOCH = date(1899, 12, 30)


def starts_formula(text: str) -> bool:
    """Whether a spreadsheet would run this text as a formula: it starts with a trigger, perhaps after spaces."""
    return bool(_STARTS_FORMULA.match(text))


def csv_text(value: str) -> str:
    """A text for .csv that no spreadsheet runs: a single quote before it when it starts a formula, and after
    every separator or line break inside it that a formula follows."""
    if not value:
        return value
    value = _SEPARATOR_BEFORE_FORMULA.sub(r"\1'", value)
    return "'" + value if starts_formula(value) else value


def csv_cell(value) -> str:
    """One cell of a .csv line: texts made safe (`csv_text`) and quoted when they hold a separator of any
    common locale, a quote or a line break; numbers as they are; dates ISO; None empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = csv_text(value)
        return '"' + text.replace('"', '""') + '"' if _NEEDS_QUOTES.search(text) else text
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)  # Decimal or int: a plain number, never a formula


def plain_units(value):
    """Units as a .csv shows them: no padding zeros (10, 10.5, never 10.000); other values as they are."""
    if isinstance(value, Decimal) and value.is_finite():
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "0") else text
    return value


def subtotal_formula(col: int, first_row: int, last_row: int) -> str:
    """The totals cell's formula over the rows `first_row`..`last_row` (zero-based) of column `col`: the sum of
    the rows the filter shows. The one formula the app writes: its text never comes from the data."""
    column = xl_col_to_name(col)
    return f"=SUBTOTAL({SUBTOTAL_SUM},{column}{first_row + 1}:{column}{last_row + 1})"


def excel_serial(day: date) -> int:
    """The day as Excel's serial number (days since 1899-12-30), for a date cell with a date format."""
    return (day - _EXCEL_EPOCH).days


class _FormulaSafeWorksheet(Worksheet):
    """A worksheet on which every text that starts a formula (`starts_formula`) carries Excel's quote prefix:
    shown as typed, and still text after someone edits the cell."""

    quoted = None  # set by XlsxWorkbook.sheet: a cell format -> its twin with the quote prefix

    def text_format(self, string, cell_format=None):
        """The format `string` is written with: `cell_format`, or its quote-prefixed twin when the text starts a
        formula. (A text written on many rows is checked once and written with `write_checked_string`.)"""
        if self.quoted is not None and starts_formula(string):
            return self.quoted(cell_format)
        return cell_format

    def _write_string(self, row, col, string, cell_format=None):
        return super()._write_string(row, col, string, self.text_format(string, cell_format))

    # XlsxWriter's undecorated string writer, for a text whose format came from `text_format`.
    write_checked_string = Worksheet._write_string


def _write_text(worksheet, row, col, text, cell_format=None):
    # Every str handed to write()/write_row() lands here: always a string cell, never a formula. (Rows and
    # columns are numbers already here, so the undecorated writer XlsxWriter's own write() uses will do.)
    return worksheet._write_string(row, col, text, cell_format)


class Column:
    """A column of a sheet: its header, the name of its cell format and its width in characters."""

    __slots__ = ("header", "kind", "width")

    def __init__(self, header, kind="text", width=None):
        self.header = header
        self.kind = kind
        self.width = width or max(len(header) + 2, 12)


class XlsxWorkbook:
    """A streaming workbook (constant memory: each row goes to disk once the next one starts) with the
    formats every sheet uses. `target` is a path or a binary file."""

    def __init__(self, target):
        self.workbook = xlsxwriter.Workbook(target, {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        })
        self._properties = {}
        self._quoted = {}
        self._money = {}
        add = self.add_format
        self.formats = {
            "text": None,
            "header": add({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"}),
            "title": add({"bold": True, "font_size": 13}),
            "label": add({"bold": True}),
            "money": add({"num_format": MONEY_FORMAT}),
            "unit_price": add({"num_format": UNIT_PRICE_FORMAT}),
            "quantity": add({"num_format": QUANTITY_FORMAT}),
            "quantity_fraction": add({"num_format": FRACTION_QUANTITY_FORMAT}),
            "month": add({"num_format": MONTH_FORMAT, "align": "left"}),
            "date": add({"num_format": "yyyy-mm-dd", "align": "left"}),
            "total_label": add({"bold": True, "top": 1}),
            "money_total": add({"num_format": MONEY_FORMAT, "bold": True, "top": 1}),
            "quantity_total": add({"num_format": QUANTITY_FORMAT, "bold": True, "top": 1}),
            "quantity_fraction_total": add({"num_format": FRACTION_QUANTITY_FORMAT, "bold": True, "top": 1}),
            "text_total": add({"bold": True, "top": 1}),
        }

    def money(self, currency: str | None, *, total: bool = False, places: int = 2):
        """The cell format of amounts in `currency` (`money_format`), bold over a line for a totals row; made
        once per workbook."""
        key = (currency, total, places)
        if key not in self._money:
            properties = {"num_format": money_format(currency, places)}
            if total:
                properties.update(bold=True, top=1)
            self._money[key] = self.add_format(properties)
        return self._money[key]

    def add_format(self, properties=None):
        """A cell format of this workbook (kept, so a text that starts a formula gets its quote-prefixed twin)."""
        cell_format = self.workbook.add_format(properties)
        self._properties[id(cell_format)] = dict(properties or {})
        return cell_format

    def quoted(self, cell_format):
        """`cell_format` (None: plain) with Excel's quote prefix."""
        key = None if cell_format is None else id(cell_format)
        twin = self._quoted.get(key)
        if twin is None:
            twin = self._quoted[key] = self.workbook.add_format({**self._properties.get(key, {}), "quote_prefix": True})
        return twin

    def sheet(self, name, columns=None):
        """A worksheet whose every text cell is written as text (see `_write_text`), quote-prefixed when it
        starts a formula, with the columns' widths and formats set (a cell written without a format takes
        its column's)."""
        worksheet = self.workbook.add_worksheet(name, worksheet_class=_FormulaSafeWorksheet)
        worksheet.quoted = self.quoted
        worksheet.add_write_handler(str, _write_text)
        if columns:
            self.size_columns(worksheet, columns)
        return worksheet

    def size_columns(self, worksheet, columns):
        for col, column in enumerate(columns):
            worksheet.set_column(col, col, column.width, self.formats[column.kind])

    def header(self, worksheet, row, columns, *, freeze=True):
        """The header row, frozen so it stays in view while scrolling."""
        for col, column in enumerate(columns):
            worksheet.write_string(row, col, column.header, self.formats["header"])
        if freeze:
            worksheet.freeze_panes(row + 1, 0)

    def quantity_format(self, value, *, total=False):
        """The units format a cell needs: whole units without places, the rest with up to three."""
        whole = not isinstance(value, Decimal | float) or value == int(value)
        name = "quantity" if whole else "quantity_fraction"
        return self.formats[f"{name}_total" if total else name]

    @staticmethod
    def autofilter(worksheet, header_row: int, last_row: int, columns):
        """A filter on the header row over the data rows (the totals row below stays out of it)."""
        worksheet.autofilter(header_row, 0, max(last_row, header_row), len(columns) - 1)

    def total_row(self, worksheet, row, columns, values, *, rows: tuple[int, int] | None = None,
                  currency: str | None = None):
        """A bold totals row: `values` by column index (text, quantity or money; money in `currency`, the
        default's sign when none is given). With `rows` (the first and last data row, zero-based), each figure
        is a SUBTOTAL over those rows, so it follows the filter, with `values`' figure as its value until the
        spreadsheet recalculates; without, the figure itself."""
        money_total = self.formats["money_total"] if currency is None else self.money(currency, total=True)
        for col, value in values.items():
            kind = columns[col].kind
            if isinstance(value, str):
                worksheet.write_string(row, col, value, self.formats["total_label"])
                continue
            fmt = self.quantity_format(value, total=True) if kind == "quantity" else money_total
            if rows is not None and rows[1] >= rows[0]:
                worksheet.write_formula(row, col, subtotal_formula(col, *rows), fmt, value)
            else:
                worksheet.write_number(row, col, value, fmt)

    def close(self):
        self.workbook.close()


def text_width(value, at_least):
    """A column width that shows `value` whole (capped, so one long name does not make a wall)."""
    return min(max(at_least, len(value) + 2), 60)


def csv_line(cells) -> str:
    """One line of a .csv file, every cell through `csv_cell`."""
    return ",".join(map(csv_cell, cells)) + "\r\n"


class CsvOut:
    """The one CSV writer, on a binary stream (UTF-8 with a byte-order mark, so Excel reads accents right):
    `row(cells)` writes one line through `csv_line`."""

    def __init__(self, stream):
        self.text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="", write_through=False)

    def row(self, cells):
        self.text.write(csv_line(cells))

    def close(self):
        self.text.flush()
        self.text.detach()
