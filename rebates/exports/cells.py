"""What every sheet shares: typed cells, formats, and no cell a spreadsheet would run as a formula (R14).

In .xlsx every text goes through `write_string`, so it is stored as text whatever it starts with (XlsxWriter's
generic write would turn "{=...}" into an array formula even with strings_to_formulas off). In .csv a text
that starts with a trigger character gets a leading single quote, which spreadsheets show and never run.
"""

import csv
import io
from datetime import date

import xlsxwriter

# =, +, -, @, tab and carriage return start a formula (or a DDE call) when a spreadsheet opens the file.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MONEY_FORMAT = '"$"#,##0.00;[Red]-"$"#,##0.00'
UNIT_PRICE_FORMAT = '"$"#,##0.0000;[Red]-"$"#,##0.0000'
# Quantities keep up to three places; "General" shows 10 as 10 and 10.5 as 10.5 (a "0.###" format shows "10.").
QUANTITY_FORMAT = "General"
MONTH_FORMAT = "mmm yyyy"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
_EXCEL_EPOCH = date(1899, 12, 30)


def csv_text(value: str) -> str:
    """A text cell for .csv: a leading single quote when it would start a formula."""
    return "'" + value if value and value.startswith(FORMULA_TRIGGERS) else value


def excel_serial(day: date) -> int:
    """The day as Excel's serial number (days since 1899-12-30), for a date cell with a date format."""
    return (day - _EXCEL_EPOCH).days


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


class XlsxBook:
    """A streaming workbook (constant memory: each row goes to disk once the next one starts) with the
    formats every sheet uses. `target` is a path or a binary file."""

    def __init__(self, target):
        self.workbook = xlsxwriter.Workbook(target, {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        })
        add = self.workbook.add_format
        self.formats = {
            "text": None,
            "header": add({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"}),
            "title": add({"bold": True, "font_size": 13}),
            "label": add({"bold": True}),
            "money": add({"num_format": MONEY_FORMAT}),
            "unit_price": add({"num_format": UNIT_PRICE_FORMAT}),
            "quantity": add({"num_format": QUANTITY_FORMAT}),
            "month": add({"num_format": MONTH_FORMAT, "align": "left"}),
            "date": add({"num_format": "yyyy-mm-dd", "align": "left"}),
            "total_label": add({"bold": True, "top": 1}),
            "money_total": add({"num_format": MONEY_FORMAT, "bold": True, "top": 1}),
            "quantity_total": add({"num_format": QUANTITY_FORMAT, "bold": True, "top": 1}),
            "text_total": add({"bold": True, "top": 1}),
        }

    def sheet(self, name, columns=None):
        """A worksheet whose every text cell is written as text (see `_write_text`), with the columns'
        widths and formats set (a cell written without a format takes its column's)."""
        worksheet = self.workbook.add_worksheet(name)
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

    def total_row(self, worksheet, row, columns, values):
        """A bold totals row: `values` by column index (text, quantity or money)."""
        for col, value in values.items():
            kind = columns[col].kind
            if isinstance(value, str):
                worksheet.write_string(row, col, value, self.formats["total_label"])
            else:
                fmt = self.formats["quantity_total" if kind == "quantity" else "money_total"]
                worksheet.write_number(row, col, value, fmt)

    def close(self):
        self.workbook.close()


def text_width(value, at_least):
    """A column width that shows `value` whole (capped, so one long name does not make a wall)."""
    return min(max(at_least, len(value) + 2), 60)


class CsvOut:
    """A CSV writer on a binary stream (UTF-8 with a byte-order mark, so Excel reads accents right)."""

    def __init__(self, stream):
        self.text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="", write_through=False)
        self.writer = csv.writer(self.text)

    def close(self):
        self.text.flush()
        self.text.detach()
