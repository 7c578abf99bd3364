"""Reading exported files back the way finance would open them."""

import csv
import io
import re
import zipfile
from decimal import Decimal

from openpyxl import load_workbook

from rebates.exports.cells import FORMULA_TRIGGERS


def workbook(content: bytes):
    """The workbook as finance sees it: a totals cell reads as its figure (the value stored with its formula)."""
    return load_workbook(io.BytesIO(content), data_only=True)


def values(sheet, first_row=1):
    return [list(row) for row in sheet.iter_rows(min_row=first_row, values_only=True)]


def money(value) -> Decimal:
    """A number cell as money: Excel keeps doubles, so compare to the cent."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


# The one formula the app writes: a totals cell summing the filtered rows of its own column, spelled here
# apart from the code under test.
_APP_SUBTOTAL = re.compile(r"=?SUBTOTAL\(109,([A-Z]+)(\d+):\1(\d+)\)")


def app_subtotal(formula: str) -> bool:
    return bool(_APP_SUBTOTAL.fullmatch(formula.strip()))


def subtotals(content: bytes) -> dict[str, str]:
    """The app's SUBTOTAL cells, sheet!cell -> formula."""
    found = {}
    for sheet in load_workbook(io.BytesIO(content)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" and app_subtotal(str(cell.value)):
                    found[f"{sheet.title}!{cell.coordinate}"] = cell.value
    return found


def formula_cells(content: bytes) -> list[str]:
    """Every cell of every sheet that a spreadsheet would run, but the app's own totals (SUBTOTAL(109) over a
    range of their column): <f> elements in the sheet XML, and cells openpyxl reads as formulas."""
    found = []
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = archive.read(name).decode()
                found += [f"{name}: {match}" for match in re.findall(r"<f[ >]([^<]*)", xml) if not app_subtotal(match)]
    for sheet in load_workbook(io.BytesIO(content)).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f" and not app_subtotal(str(cell.value)):
                    found.append(f"{sheet.title}!{cell.coordinate}: {cell.value}")
    return found


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))


def _is_number(text):
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def unescaped_trigger_cells(rows) -> list[str]:
    """CSV cells a spreadsheet would run: text starting with a trigger that is not a plain number."""
    return [cell for row in rows for cell in row if cell.startswith(FORMULA_TRIGGERS) and not _is_number(cell)]


# What a spreadsheet runs, spelled here apart from the code under test: =, +, -, @, tab or CR, or their
# full-width forms, after any leading whitespace; a plain number is only a number.
_RUNS = re.compile("\\s*[=+\\-@\t\r\uff1d\uff0b\uff0d\uff20]")
LOCALE_SEPARATORS = (",", ";", "\t", "|")


def runs_as_formula(cell) -> bool:
    return isinstance(cell, str) and bool(_RUNS.match(cell)) and not _is_number(cell.strip())


def csv_formula_cells_in_any_locale(content: bytes) -> list[tuple[str, str]]:
    """(separator, cell) for every cell a spreadsheet would run when it opens the .csv with the list
    separator of a comma, semicolon, tab or pipe locale (a quote opens a quoted cell only at a cell's start)."""
    text = content.decode("utf-8-sig")
    found = []
    for separator in LOCALE_SEPARATORS:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=separator):
            found += [(separator, cell) for cell in row if runs_as_formula(cell)]
    return found


def xlsx_formula_texts_without_quote_prefix(content: bytes) -> list[str]:
    """Text cells that would become formulas once edited: they start one and lack Excel's quote prefix."""
    return [f"{sheet.title}!{cell.coordinate}: {cell.value!r}" for sheet in workbook(content).worksheets
            for row in sheet.iter_rows() for cell in row
            if cell.data_type == "s" and runs_as_formula(cell.value) and not cell.quotePrefix]
