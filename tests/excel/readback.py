"""Reading exported files back the way finance would open them."""

import csv
import io
import re
import zipfile
from decimal import Decimal

from openpyxl import load_workbook

from rebates.exports.cells import FORMULA_TRIGGERS


def workbook(content: bytes):
    return load_workbook(io.BytesIO(content))


def values(sheet, first_row=1):
    return [list(row) for row in sheet.iter_rows(min_row=first_row, values_only=True)]


def money(value) -> Decimal:
    """A number cell as money: Excel keeps doubles, so compare to the cent."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def formula_cells(content: bytes) -> list[str]:
    """Every cell of every sheet that a spreadsheet would run: <f> elements in the sheet XML, and cells
    openpyxl reads as formulas."""
    found = []
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                xml = archive.read(name).decode()
                found += [f"{name}: {match}" for match in re.findall(r"<f[ >][^<]*", xml)]
    for sheet in workbook(content).worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
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
