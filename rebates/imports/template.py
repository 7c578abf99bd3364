"""The purchase file to fill in."""

import io
from decimal import Decimal

from rebates.services.purchases import ALL_FIELDS

TEMPLATE_EXAMPLE = ("INV-2026-000123-1", "C00042", "FAS-101", "2026-03", "10", "12.10", "121.00", "", "")


def purchase_import_template(format: str = "xlsx"):
    """The file to fill in: the seven columns and the optional unit and currency, one example line, and (in .xlsx) what
    each column takes."""
    from rebates.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, ExportFile
    from rebates.exports.cells import Column, CsvOut, XlsxWorkbook

    if format == "csv":
        buffer = io.BytesIO()
        out = CsvOut(buffer)
        out.row(ALL_FIELDS)
        out.row(TEMPLATE_EXAMPLE)
        out.close()
        return ExportFile("purchase-lines-template.csv", CSV_CONTENT_TYPE, buffer.getvalue())
    if format != "xlsx":
        raise ValueError(f"format must be xlsx or csv, got {format!r}")
    columns = [Column(field, width=width)
               for field, width in zip(ALL_FIELDS, (22, 14, 14, 10, 12, 12, 14, 10, 10), strict=True)]
    buffer = io.BytesIO()
    workbook = XlsxWorkbook(buffer)
    text = workbook.add_format({"num_format": "@"})
    sheet = workbook.sheet("Purchase lines")
    for col, column in enumerate(columns):
        # Text columns stay text: Excel would turn 2026-03 into a date and C00042 stays as typed.
        sheet.set_column(col, col, column.width, text if col < 4 or column.header in ("unit", "currency") else None)
    workbook.header(sheet, 0, columns)
    sheet.write_row(1, 0, TEMPLATE_EXAMPLE[:4])
    for col, value in enumerate(TEMPLATE_EXAMPLE[4:7], start=4):
        sheet.write_number(1, col, Decimal(value))
    help_sheet = workbook.sheet("How to fill it in")
    help_sheet.set_column(0, 0, 14)
    help_sheet.set_column(1, 1, 90)
    notes = (
        ("erp_line_id", "The ERP's id of the line. A line sent again with the same id replaces the first."),
        ("customer", "The customer's ERP code."),
        ("product", "The product's SKU."),
        ("month", "The month of the purchase, as YYYY-MM (or a date in that month)."),
        ("quantity", "Units bought; negative for a credit note. Up to 3 decimal places."),
        ("unit_price", "Net unit price, up to 4 decimal places."),
        ("amount", "Net amount of the line, up to 2 decimal places; negative for a credit note."),
        ("unit", "Optional: the unit of quantity and unit_price (e.g. box, case); blank for the product's base unit."),
        ("currency", "Optional: the currency of unit_price and amount (ISO code, e.g. EUR); blank for the "
                     "customer's. Converted at the month's rate; a line whose month has no rate is held."),
        ("", "Other columns are ignored. One wrong line rejects the whole file, every problem named; "
             "nothing is stored until the file is right."),
    )
    for row, (field, note) in enumerate(notes):
        help_sheet.write_string(row, 0, field, workbook.formats["label"])
        help_sheet.write_string(row, 1, note)
    workbook.close()
    return ExportFile("purchase-lines-template.xlsx", XLSX_CONTENT_TYPE, buffer.getvalue())


MEMBERSHIP_COLUMNS = ("group", "member", "joined", "ended")
MEMBERSHIP_EXAMPLES = (("G00007", "C00042", "2026-01", ""), ("G00007", "C00043", "2025-07", "2026-04"))


def memberships_import_template(format: str = "xlsx"):
    """The buying-group membership file to fill in: group, member, joined and the optional ended, two example
    rows, and (in .xlsx) what each column takes."""
    from rebates.exports import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, ExportFile
    from rebates.exports.cells import Column, CsvOut, XlsxWorkbook

    if format == "csv":
        buffer = io.BytesIO()
        out = CsvOut(buffer)
        out.row(MEMBERSHIP_COLUMNS)
        for example in MEMBERSHIP_EXAMPLES:
            out.row(example)
        out.close()
        return ExportFile("group-memberships-template.csv", CSV_CONTENT_TYPE, buffer.getvalue())
    if format != "xlsx":
        raise ValueError(f"format must be xlsx or csv, got {format!r}")
    columns = [Column(field, width=14) for field in MEMBERSHIP_COLUMNS]
    buffer = io.BytesIO()
    workbook = XlsxWorkbook(buffer)
    text = workbook.add_format({"num_format": "@"})
    sheet = workbook.sheet("Group memberships")
    # Every column stays text: Excel would turn 2026-01 into a date (a date cell is read as its month too).
    sheet.set_column(0, len(columns) - 1, 14, text)
    workbook.header(sheet, 0, columns)
    for row, example in enumerate(MEMBERSHIP_EXAMPLES, start=1):
        for col, value in enumerate(example):
            if value:
                sheet.write_string(row, col, value)
    help_sheet = workbook.sheet("How to fill it in")
    help_sheet.set_column(0, 0, 14)
    help_sheet.set_column(1, 1, 90)
    notes = (
        ("group", "The buying group's ERP code (a customer marked as a buying group)."),
        ("member", "The member customer's ERP code (a customer that is not a group)."),
        ("joined", "The first month its purchases count for the group, as YYYY-MM."),
        ("ended", "Optional: the first month they no longer count, as YYYY-MM; blank while a member."),
        ("", "A row for a member already in the group from that month changes its end; one group at a time, "
             "so months that overlap another membership are refused. One wrong row rejects the whole file, "
             "every problem named; nothing is stored until the file is right."),
    )
    for row, (field, note) in enumerate(notes):
        help_sheet.write_string(row, 0, field, workbook.formats["label"])
        help_sheet.write_string(row, 1, note)
    workbook.close()
    return ExportFile("group-memberships-template.xlsx", XLSX_CONTENT_TYPE, buffer.getvalue())
