"""A list page's rows as a file: the filtered, sorted selection (every page of it) with the columns the page
shows, and a totals row where the list totals money; as .xlsx or .csv, no text cell ever a formula (R14:
every text goes through the cells module's one writer)."""

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from config import clock
from rebates.exports.cells import Column, CsvOut, XlsxWorkbook, excel_serial, plain_units, text_width

# A list column's kind -> the cell format of the sheet.
SHEET_KINDS = {"money": "money", "unit_price": "unit_price", "quantity": "quantity", "int": "quantity",
               "percent": "quantity", "date": "date", "month": "month"}
TEXT_WIDTH = 60


def _cell(value, kind):
    """A cell as the sheet stores it: dates as Excel serials, date-times as local text, the rest as they are."""
    if isinstance(value, datetime):
        return f"{clock.local(value):%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return excel_serial(value)
    return value


def _csv_cell(value, kind):
    if isinstance(value, datetime):
        return f"{clock.local(value):%Y-%m-%d %H:%M}"
    if kind == "month" and isinstance(value, date):
        return f"{value:%Y-%m}"
    if SHEET_KINDS.get(kind) == "quantity":
        return plain_units(value)
    return value


def write_list_xlsx(target, *, title: str, headers: Sequence[tuple[str, str]], rows: Iterable[Sequence],
                    totals: dict[int, object] | None = None, currency_column: int | None = None,
                    currency_amounts: Sequence[int] | None = None) -> int:
    """Write `rows` (cells in the order of `headers`, which are (label, kind) pairs) on one sheet named
    `title`, with a frozen, filtered header and, when given, a totals row (`totals`: column index -> figure)
    whose figures are SUBTOTALs of the rows the filter shows (a text total is written as it is). With
    `currency_column`, each row's amounts (those of the columns `currency_amounts`, when given: a report's
    figures in the reporting currency keep theirs) take the format of the currency in that cell. Returns the
    number of rows written."""
    columns = [Column(label, SHEET_KINDS.get(kind, "text")) for label, kind in headers]
    kinds = [kind for _, kind in headers]
    workbook = XlsxWorkbook(target)
    sheet = workbook.sheet(title[:31], columns)
    workbook.header(sheet, 0, columns)
    widths = [column.width for column in columns]
    # Units columns show whole figures without places; a figure with places takes the fraction format.
    units = [col for col, column in enumerate(columns) if column.kind == "quantity"]
    fraction = workbook.formats["quantity_fraction"]
    amounts = [col for col, column in enumerate(columns) if column.kind in ("money", "unit_price")
               and (currency_amounts is None or col in currency_amounts)]
    count = 0
    for count, cells in enumerate(rows, start=1):
        values = [_cell(value, kind) for value, kind in zip(cells, kinds, strict=True)]
        for col, value in enumerate(values):
            if isinstance(value, str) and kinds[col] == "text":
                widths[col] = text_width(value, widths[col])
        sheet.write_row(count, 0, [None if value == "" else value for value in values])
        for col in units:
            value = values[col]
            if isinstance(value, Decimal | float) and value != int(value):
                sheet.write_number(count, col, value, fraction)
        if currency_column is not None and values[currency_column]:
            for col in amounts:
                if isinstance(values[col], Decimal | int | float):
                    sheet.write_number(count, col, values[col], workbook.money(
                        values[currency_column], places=4 if columns[col].kind == "unit_price" else 2))
    workbook.autofilter(sheet, 0, count, columns)
    if totals:
        currency = totals.get(currency_column) if currency_column is not None else None
        if currency and currency_amounts is not None:
            # The row currency's format on its amounts only; the other figures keep the default's.
            own = {col: value for col, value in totals.items() if col in currency_amounts}
            workbook.total_row(sheet, count + 1, columns, own, rows=(1, count), currency=currency)
            totals = {col: value for col, value in totals.items() if col not in own}
            currency = None
        workbook.total_row(sheet, count + 1, columns, {0: "Total", **totals}, rows=(1, count), currency=currency)
    for col, column in enumerate(columns):
        sheet.set_column(col, col, min(widths[col], TEXT_WIDTH), workbook.formats[column.kind])
    workbook.close()
    return count


def write_list_csv(stream, *, headers: Sequence[tuple[str, str]], rows: Iterable[Sequence],
                   totals: dict[int, object] | None = None) -> int:
    """The same rows as CSV (dates ISO, months YYYY-MM, amounts plain decimals, texts escaped)."""
    out = CsvOut(stream)
    out.row([label for label, _ in headers])
    kinds = [kind for _, kind in headers]
    count = 0
    for cells in rows:
        out.row([_csv_cell(value, kind) for value, kind in zip(cells, kinds, strict=True)])
        count += 1
    if totals:
        out.row(["Total", *[_csv_cell(totals.get(col, ""), kinds[col]) for col in range(1, len(headers))]])
    out.close()
    return count
