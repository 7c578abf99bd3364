"""Every figure a writer puts in an .xlsx reads back as the exact decimal: numbers with up to 4 decimal places
and up to 15 significant digits (what Excel's doubles hold), written by XlsxWriter and by openpyxl, as floats
and as Decimals, come back from the purchase file reader as equal Decimals, never with float drift."""

import io
from decimal import Decimal

import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from rebates.imports import purchase_file_read
from tests.excel.workbooks import HEADER

FIGURES = ("quantity", "unit_price", "amount")
figures = st.builds(lambda digits, places: Decimal(digits).scaleb(-places),
                    st.integers(min_value=-(10**15 - 1), max_value=10**15 - 1), st.integers(0, 4))


def with_xlsxwriter(rows, as_float) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("Purchase lines")
    sheet.write_row(0, 0, HEADER)
    for number, row in enumerate(rows, start=1):
        sheet.write_row(number, 0, (f"L{number}", "C1", "W-1", "2026-03"))
        for col, value in enumerate(row, start=4):
            sheet.write_number(number, col, float(value) if as_float else value)
    workbook.close()
    return buffer.getvalue()


def with_openpyxl(rows, as_float) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADER)
    for number, row in enumerate(rows, start=1):
        sheet.append([f"L{number}", "C1", "W-1", "2026-03", *(float(value) if as_float else value for value in row)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(figures, figures, figures), min_size=1, max_size=25),
       write=st.sampled_from([with_xlsxwriter, with_openpyxl]), as_float=st.booleans())
def test_every_figure_written_reads_back_as_the_exact_decimal(rows, write, as_float):
    read = purchase_file_read(io.BytesIO(write(rows, as_float)), name="purchases.xlsx")
    got = [tuple(line[field] for field in FIGURES) for line in read.lines]
    assert all(type(value) is Decimal for row in got for value in row)
    assert got == rows
