"""The finance accrual sheet: one row per agreement and month, a totals row, and the liability by customer
and by account manager on a second sheet. As .xlsx (streamed) or as .csv (one file per report).

Two reads, both from `rebates.selectors.accrual_rows` for the user: the summary per customer (one
aggregate query: the totals row, the liability, the row count for progress, the column widths), then the
rows themselves through a server-side cursor, handed to the writer as the database returns them. Both read
one snapshot, so the totals are the sum of the rows.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Func, IntegerField

from rebates.engine.money import CENT, ZERO_MONEY
from rebates.exports.cells import Column, CsvOut, XlsxWorkbook, plain_units, text_width
from rebates.selectors import accrual_rows, liability_by_customer, quantized
from rebates.sql.exports import row_batches as sql_row_batches
from rebates.sql.exports import snapshot_read_only

QUANTITY_STEP = Decimal("0.001")
TEXT_FIELDS = ("number", "customer_code", "customer_name", "manager_name", "program")
FIGURE_FIELDS = ("units", "eligible", "accrued", "paid", "forfeited", "unpaid")
# The sheet's row, in column order: the .xlsx reads the month as Excel's serial, the .csv as a date.
XLSX_FIELDS = (*TEXT_FIELDS, "month_serial", *FIGURE_FIELDS)
CSV_FIELDS = (*TEXT_FIELDS, "month", *FIGURE_FIELDS)
ACCRUAL_COLUMNS = (
    Column("Agreement", width=12),
    Column("Customer code", width=14),
    Column("Customer", width=14),
    Column("Account manager", width=16),
    Column("Program", width=14),
    Column("Month", "month", width=10),
    Column("Units", "quantity", width=11),
    Column("Eligible amount", "money", width=16),
    Column("Accrued", "money", width=14),
    Column("Paid", "money", width=14),
    Column("Forfeited", "money", width=14),
    Column("Unpaid", "money", width=14),
)
FIRST_FIGURE = 6  # units .. unpaid are summed in the totals row
CUSTOMER_COLUMNS = (
    Column("Customer code", width=14),
    Column("Customer", width=28),
    Column("Account manager", width=20),
    Column("Agreements", "quantity", width=11),
    Column("Accrued", "money", width=15),
    Column("Paid", "money", width=15),
    Column("Forfeited", "money", width=15),
    Column("Unpaid (liability)", "money", width=18),
)
MANAGER_COLUMNS = (
    Column("Account manager", width=20),
    Column("Customers", "quantity", width=11),
    Column("Agreements", "quantity", width=11),
    Column("Accrued", "money", width=15),
    Column("Paid", "money", width=15),
    Column("Forfeited", "money", width=15),
    Column("Unpaid (liability)", "money", width=18),
)
NO_MANAGER = "(no account manager)"
FETCH_ROWS = 5000


class ExcelSerial(Func):
    """A first-of-month date as Excel's serial day number (days since 1899-12-30), computed by the database
    so each row goes to the writer as it comes."""

    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"({sql} - DATE '1899-12-30')", params


def sheet_queryset(*, user, filters, fields=XLSX_FIELDS):
    rows = accrual_rows(user=user, cumulative=False, **filters)
    if "month_serial" in fields:
        rows = rows.annotate(month_serial=ExcelSerial("period"))
    return rows.values_list(*fields)


@contextmanager
def one_snapshot():
    """A read-only view of one moment: the summary and the rows agree even while a run books entries.
    (Inside a caller's transaction, that transaction's view is used.)"""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        snapshot_read_only()
        yield


def row_batches(queryset, size=FETCH_ROWS) -> Iterator[list[tuple]]:
    """The queryset's rows, a batch at a time, as plain tuples, fetched one batch ahead (rebates.sql.exports)."""
    return sql_row_batches(queryset, size)


@dataclass
class Summary:
    """The sheet summed per customer by the database: the liability report, the totals and the row count."""

    # (code, name, manager, agreements, rows, units, eligible, accrued, paid, forfeited, unpaid) per customer
    customers: list[tuple] = field(default_factory=list)
    longest_number: int = 0
    longest_program: int = 0

    @property
    def rows(self) -> int:
        return sum(customer[4] for customer in self.customers)

    @property
    def totals(self) -> list[Decimal]:
        """units, eligible, accrued, paid, forfeited, unpaid over every row."""
        sums = [Decimal("0.000"), ZERO_MONEY, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY]
        for customer in self.customers:
            for i, value in enumerate(customer[5:]):
                sums[i] += value
        return sums

    def by_customer(self):
        """(code, name, manager, agreements, accrued, paid, forfeited, unpaid) per customer, by code."""
        return [(code, name, manager, agreements, *figures[2:])
                for code, name, manager, agreements, _rows, *figures in self.customers]

    def by_manager(self):
        """(manager, customers, agreements, accrued, paid, forfeited, unpaid) per account manager."""
        managers: dict = {}
        for _code, _name, manager, agreements, _rows, _units, _eligible, *figures in self.customers:
            sums = managers.setdefault(manager or NO_MANAGER, [0, 0, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY])
            for i, value in enumerate((1, agreements, *figures)):
                sums[i] += value
        return [(manager, *values) for manager, values in sorted(managers.items())]


def sheet_summary(*, user, filters) -> Summary:
    """The sheet summed per customer in one aggregate query, each figure with its places."""
    summary = Summary()
    for row in liability_by_customer(user=user, **filters):
        code, name, manager, agreements, count, units, *money, longest_number, longest_program = row
        summary.customers.append((code, name, manager, agreements, count, quantized(units, QUANTITY_STEP),
                                  *(quantized(value, CENT) for value in money)))
        summary.longest_number = max(summary.longest_number, longest_number or 0)
        summary.longest_program = max(summary.longest_program, longest_program or 0)
    return summary


def sheet_row_count(*, user, filters, limit=None) -> int:
    """How many rows the sheet holds (counting no further than `limit` when given)."""
    rows = accrual_rows(user=user, cumulative=False, **filters).order_by()
    return (rows[:limit] if limit else rows).count()


Progress = Callable[[int, int], None] | None


def write_accrual_xlsx(target, *, user, filters, about=(), progress: Progress = None) -> int:
    """Write the finance accrual sheet, the liability sheet and an "About" sheet to `target` (a path or a
    binary file), for `user` with the accruals filters. `progress(done, total)` follows the rows. Returns the
    number of rows written."""
    with one_snapshot():
        summary = sheet_summary(user=user, filters=filters)
        total = summary.rows
        workbook = XlsxWorkbook(target)
        columns = _sized_accrual_columns(summary)
        sheet = workbook.sheet("Accruals", columns)
        workbook.header(sheet, 0, columns)
        # Each cell by its own typed writer (text always as a string cell), with the column's format. The texts
        # are the agreement's, the same on each of its rows (by number, month): checked for a formula once.
        text, number = sheet.write_checked_string, sheet._write_number
        month, quantity, money = (workbook.formats[kind] for kind in ("month", "quantity", "money"))
        fraction = workbook.formats["quantity_fraction"]
        text_format = workbook.formats["text"]
        row, shown = 0, None
        for batch in row_batches(sheet_queryset(user=user, filters=filters)):
            for agreement, code, name, manager, program, serial, units, eligible, accrued, paid, forfeited, \
                    unpaid in batch:
                if agreement != shown:
                    shown = agreement
                    number_fmt, code_fmt, name_fmt, manager_fmt, program_fmt = (sheet.text_format(value, text_format)
                                          for value in (agreement, code, name, manager, program))
                row += 1
                text(row, 0, agreement, number_fmt)
                text(row, 1, code, code_fmt)
                text(row, 2, name, name_fmt)
                text(row, 3, manager, manager_fmt)
                text(row, 4, program, program_fmt)
                number(row, 5, serial, month)
                # Whole units without places (1,250), the rest with up to three (1,250.5).
                number(row, 6, units, quantity if units == units.to_integral_value() else fraction)
                number(row, 7, eligible, money)
                number(row, 8, accrued, money)
                number(row, 9, paid, money)
                number(row, 10, forfeited, money)
                number(row, 11, unpaid, money)
            if progress is not None:
                progress(row, total)
    workbook.autofilter(sheet, 0, row, columns)
    workbook.total_row(sheet, row + 1, columns,
                       {0: f"Total ({row} rows)", **dict(enumerate(summary.totals, start=FIRST_FIGURE))},
                       rows=(1, row))
    _write_liability_sheet(workbook, summary)
    _write_about_sheet(workbook, about)
    workbook.close()
    if progress is not None:
        progress(row, row)
    return row


def _sized_accrual_columns(summary: Summary):
    """The columns sized to their longest text (known from the summary before the first row is written)."""
    widths = {0: summary.longest_number, 4: summary.longest_program}
    for code, name, manager, *_ in summary.customers:
        widths[1] = max(widths.get(1, 0), len(code or ""))
        widths[2] = max(widths.get(2, 0), len(name or ""))
        widths[3] = max(widths.get(3, 0), len(manager or ""))
    return tuple(Column(column.header, column.kind, text_width("x" * widths[col], column.width))
                 if col in widths else column for col, column in enumerate(ACCRUAL_COLUMNS))


def _write_liability_sheet(workbook: XlsxWorkbook, summary: Summary):
    sheet = workbook.sheet("Liability", CUSTOMER_COLUMNS)
    sheet.write_string(0, 0, "Liability by customer", workbook.formats["title"])
    workbook.header(sheet, 1, CUSTOMER_COLUMNS)
    widths = [column.width for column in CUSTOMER_COLUMNS]
    row = 1
    sums = [0, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY]
    # Each cell by its typed writer; the figures take their column's format.
    text, number = sheet._write_string, sheet._write_number
    for values in summary.by_customer():
        row += 1
        for col in (0, 1, 2):
            text(row, col, values[col])
            if values[col]:
                widths[col] = text_width(values[col], widths[col])
        for i, value in enumerate(values[3:]):
            number(row, i + 3, value)
            sums[i] += value
    workbook.autofilter(sheet, 1, row, CUSTOMER_COLUMNS)
    row += 1
    workbook.total_row(sheet, row, CUSTOMER_COLUMNS, {0: "Total", **dict(enumerate(sums, start=3))}, rows=(2, row - 1))

    row += 3
    sheet.write_string(row, 0, "Liability by account manager", workbook.formats["title"])
    row += 1
    workbook.header(sheet, row, MANAGER_COLUMNS, freeze=False)
    sums = [0, 0, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY]
    for values in summary.by_manager():
        row += 1
        # The two tables share columns: each cell takes the manager table's own format.
        sheet.write_string(row, 0, values[0])
        widths[0] = text_width(values[0], widths[0])
        for col, value in enumerate(values[1:], start=1):
            sheet.write_number(row, col, value, workbook.formats[MANAGER_COLUMNS[col].kind])
            sums[col - 1] += value
    row += 1
    workbook.total_row(sheet, row, MANAGER_COLUMNS, {0: "Total", **dict(enumerate(sums, start=1))})
    for col, column in enumerate(CUSTOMER_COLUMNS):
        sheet.set_column(col, col, widths[col], workbook.formats[column.kind])


def _write_about_sheet(workbook: XlsxWorkbook, about):
    if not about:
        return
    sheet = workbook.sheet("About")
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 50)
    for row, (label, value) in enumerate(about):
        sheet.write_string(row, 0, label, workbook.formats["label"])
        if isinstance(value, date):
            sheet.write_datetime(row, 1, value, workbook.formats["date"])
        else:
            sheet.write_string(row, 1, str(value))


def write_accrual_csv(stream, *, user, filters, progress: Progress = None) -> int:
    """The finance accrual sheet as CSV: a header, one line per agreement and month, a totals line.
    Months are YYYY-MM, amounts plain decimals, texts escaped against formulas (R14, in CsvOut)."""
    out = CsvOut(stream)
    writerow = out.row
    writerow([column.header for column in ACCRUAL_COLUMNS])
    months = {}
    with one_snapshot():
        summary = sheet_summary(user=user, filters=filters)
        total = summary.rows
        count = 0
        for batch in row_batches(sheet_queryset(user=user, filters=filters, fields=CSV_FIELDS)):
            for number, code, name, manager, program, month, units, *money in batch:
                label = months.get(month)
                if label is None:
                    label = months[month] = f"{month:%Y-%m}"
                # Every figure with its places.
                writerow((number, code, name, manager, program,
                          label, plain_units(quantized(units, QUANTITY_STEP)),
                          *(quantized(value, CENT) for value in money)))
            count += len(batch)
            if progress is not None:
                progress(count, total)
    units, *money = summary.totals
    writerow([f"Total ({count} rows)", "", "", "", "", "", plain_units(units), *money])
    out.close()
    if progress is not None:
        progress(count, count)
    return count


LIABILITY_CSV_HEADER = ("Report", "Account manager", "Customer code", "Customer", "Customers", "Agreements",
                        "Accrued", "Paid", "Forfeited", "Unpaid (liability)")


def write_liability_csv(stream, *, user, filters, progress: Progress = None) -> int:
    """The liability report as CSV: one line per customer, then one per account manager, in one table.
    Returns the number of sheet rows it sums."""
    summary = sheet_summary(user=user, filters=filters)
    out = CsvOut(stream)
    writerow = out.row
    writerow(LIABILITY_CSV_HEADER)
    for code, name, manager, *figures in summary.by_customer():
        writerow(("customer", manager or NO_MANAGER, code, name, 1, *figures))
    for manager, *figures in summary.by_manager():
        writerow(("account manager", manager, "", "", *figures))
    out.close()
    if progress is not None:
        progress(summary.rows, summary.rows)
    return summary.rows
