"""The finance accrual sheet: one row per agreement and month, a totals row, and the liability by customer
and by account manager on a second sheet. As .xlsx (streamed) or as .csv (one file per report).

Rows come from `rebates.selectors.accrual_rows` read as plain tuples through a server-side cursor, so a
sheet of any size is written with flat memory.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from rebates.exports.cells import Column, CsvOut, MonthSerials, XlsxBook, csv_text, text_width
from rebates.selectors import accrual_rows

ZERO = Decimal("0.00")
# The order of the values every row of the sheet is read in (accrual_rows' keys).
ROW_FIELDS = ("number", "customer_code", "customer_name", "manager_name", "program", "month", "units", "eligible",
              "accrued", "paid", "forfeited", "unpaid")
ACCRUAL_COLUMNS = (
    Column("Agreement", width=14),
    Column("Customer code", width=14),
    Column("Customer", width=28),
    Column("Account manager", width=20),
    Column("Program", width=26),
    Column("Month", "month", width=10),
    Column("Units", "quantity", width=11),
    Column("Eligible amount", "money", width=16),
    Column("Accrued", "money", width=14),
    Column("Paid", "money", width=14),
    Column("Forfeited", "money", width=14),
    Column("Unpaid", "money", width=14),
)
TEXT_COLUMNS = (0, 1, 2, 3, 4)
FIRST_SUMMED = 6  # units .. unpaid are summed in the totals row
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
PROGRESS_EVERY = 5000


def sheet_rows(*, user, filters, chunk_size=5000) -> Iterable[tuple]:
    """The sheet's rows as tuples in ROW_FIELDS order: one query, read through a server-side cursor."""
    return accrual_rows(user=user, cumulative=False, **filters).values_list(*ROW_FIELDS).iterator(
        chunk_size=chunk_size)


def sheet_row_count(*, user, filters, limit=None) -> int:
    """How many rows the sheet holds (counting no further than `limit` when given)."""
    rows = accrual_rows(user=user, cumulative=False, **filters).order_by()
    return (rows[:limit] if limit else rows).count()


@dataclass
class Liability:
    """Sums of the rows per customer and per account manager, gathered while the rows are written."""

    # customer code -> [name, manager, agreements, accrued, paid, forfeited, unpaid]
    customers: dict = field(default_factory=dict)
    totals: list = field(default_factory=lambda: [Decimal("0.000"), ZERO, ZERO, ZERO, ZERO, ZERO])

    def by_customer(self):
        return [(code, *values) for code, values in sorted(self.customers.items())]

    def by_manager(self):
        """(manager, customers, agreements, accrued, paid, forfeited, unpaid) per account manager."""
        managers: dict = {}
        for _name, manager, agreements, accrued, paid, forfeited, unpaid in self.customers.values():
            sums = managers.setdefault(manager or NO_MANAGER, [0, 0, ZERO, ZERO, ZERO, ZERO])
            for i, value in enumerate((1, agreements, accrued, paid, forfeited, unpaid)):
                sums[i] += value
        return [(manager, *values) for manager, values in sorted(managers.items())]


def _gather(rows, liability: Liability, on_row: Callable[[tuple], None], progress, total):
    """Feed each row to `on_row` and sum it into the totals and the liability; report progress."""
    customers = liability.customers
    totals = liability.totals
    t_units, t_eligible, t_accrued, t_paid, t_forfeited, t_unpaid = totals
    last_number = None
    done = 0
    for row in rows:
        on_row(row)
        number, code, name, manager, _program, _month, units, eligible, accrued, paid, forfeited, unpaid = row
        t_units += units
        t_eligible += eligible
        t_accrued += accrued
        t_paid += paid
        t_forfeited += forfeited
        t_unpaid += unpaid
        sums = customers.get(code)
        if sums is None:
            sums = customers[code] = [name, manager, 0, ZERO, ZERO, ZERO, ZERO]
        if number != last_number:
            sums[2] += 1
            last_number = number
        sums[3] += accrued
        sums[4] += paid
        sums[5] += forfeited
        sums[6] += unpaid
        done += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)
    totals[:] = [t_units, t_eligible, t_accrued, t_paid, t_forfeited, t_unpaid]
    if progress is not None:
        progress(done, total)
    return done


def write_accrual_xlsx(target, rows, *, about=(), progress=None, total=0) -> int:
    """Write the finance accrual sheet and the liability sheet to `target` (a path or binary file).

    `rows`: tuples in ROW_FIELDS order; `about`: (label, value) pairs for the third sheet (who, when, filters);
    `progress(done, total)` is called every few thousand rows. Returns the number of rows written.
    """
    book = XlsxBook(target)
    sheet = book.sheet("Accruals", ACCRUAL_COLUMNS)
    book.header(sheet, 0, ACCRUAL_COLUMNS)
    widths = [column.width for column in ACCRUAL_COLUMNS]
    serials = MonthSerials()
    write_row = sheet.write_row
    state = {"row": 0, "number": None}

    def on_row(row):
        state["row"] += 1
        number = row[0]
        if number != state["number"]:
            # Size the text columns from each agreement's first row (its texts repeat on its other months).
            state["number"] = number
            for col in TEXT_COLUMNS:
                if row[col] and len(row[col]) + 2 > widths[col]:
                    widths[col] = text_width(row[col], widths[col])
        write_row(state["row"], 0, (*row[:5], serials[row[5]], *row[6:]))

    liability = Liability()
    count = _gather(rows, liability, on_row, progress, total)
    book.total_row(sheet, count + 1, ACCRUAL_COLUMNS,
                   {0: f"Total ({count} rows)", **dict(enumerate(liability.totals, start=FIRST_SUMMED))})
    for col, width in enumerate(widths):
        sheet.set_column(col, col, width, book.formats[ACCRUAL_COLUMNS[col].kind])

    _write_liability_sheet(book, liability)
    _write_about_sheet(book, about)
    book.close()
    return count


def _write_liability_sheet(book: XlsxBook, liability: Liability):
    sheet = book.sheet("Liability", CUSTOMER_COLUMNS)
    sheet.write_string(0, 0, "Liability by customer", book.formats["title"])
    book.header(sheet, 1, CUSTOMER_COLUMNS)
    widths = [column.width for column in CUSTOMER_COLUMNS]
    row = 1
    sums = [0, ZERO, ZERO, ZERO, ZERO]
    for values in liability.by_customer():
        row += 1
        sheet.write_row(row, 0, values)
        for col in (0, 1, 2):
            if values[col]:
                widths[col] = text_width(values[col], widths[col])
        for i, value in enumerate(values[3:]):
            sums[i] += value
    row += 1
    book.total_row(sheet, row, CUSTOMER_COLUMNS, {0: "Total", **dict(enumerate(sums, start=3))})

    row += 3
    sheet.write_string(row, 0, "Liability by account manager", book.formats["title"])
    row += 1
    book.header(sheet, row, MANAGER_COLUMNS, freeze=False)
    sums = [0, 0, ZERO, ZERO, ZERO, ZERO]
    for values in liability.by_manager():
        row += 1
        # The two tables share columns: format each cell by the manager table's own kinds.
        sheet.write_string(row, 0, values[0])
        widths[0] = text_width(values[0], widths[0])
        for col, value in enumerate(values[1:], start=1):
            kind = MANAGER_COLUMNS[col].kind
            sheet.write_number(row, col, value, book.formats[kind])
            sums[col - 1] += value
    row += 1
    book.total_row(sheet, row, MANAGER_COLUMNS, {0: "Total", **dict(enumerate(sums, start=1))})
    for col, column in enumerate(CUSTOMER_COLUMNS):
        sheet.set_column(col, col, widths[col], book.formats[column.kind])


def _write_about_sheet(book: XlsxBook, about):
    if not about:
        return
    sheet = book.sheet("About")
    sheet.set_column(0, 0, 22)
    sheet.set_column(1, 1, 50)
    for row, (label, value) in enumerate(about):
        sheet.write_string(row, 0, label, book.formats["label"])
        if isinstance(value, date):
            sheet.write_datetime(row, 1, value, book.formats["date"])
        else:
            sheet.write_string(row, 1, str(value))


def write_accrual_csv(stream, rows, *, progress=None, total=0) -> int:
    """The finance accrual sheet as CSV: a header, one line per agreement and month, a totals line.
    Months are YYYY-MM, amounts plain decimals, texts escaped against formulas (R14)."""
    out = CsvOut(stream)
    writerow = out.writer.writerow
    writerow([column.header for column in ACCRUAL_COLUMNS])
    months = {}

    def on_row(row):
        month = row[5]
        label = months.get(month)
        if label is None:
            label = months[month] = f"{month:%Y-%m}"
        writerow((csv_text(row[0]), csv_text(row[1]), csv_text(row[2]), csv_text(row[3]), csv_text(row[4]),
                  label, *row[6:]))

    liability = Liability()
    count = _gather(rows, liability, on_row, progress, total)
    writerow([f"Total ({count} rows)", "", "", "", "", "", *liability.totals])
    out.close()
    return count


LIABILITY_CSV_HEADER = ("Report", "Account manager", "Customer code", "Customer", "Customers", "Agreements",
                        "Accrued", "Paid", "Forfeited", "Unpaid (liability)")


def write_liability_csv(stream, rows, *, progress=None, total=0) -> int:
    """The liability report as CSV: one line per customer, then one per account manager, in one table."""
    liability = Liability()
    count = _gather(rows, liability, lambda row: None, progress, total)
    out = CsvOut(stream)
    writerow = out.writer.writerow
    writerow(LIABILITY_CSV_HEADER)
    for code, name, manager, *figures in liability.by_customer():
        writerow(("customer", csv_text(manager or NO_MANAGER), csv_text(code), csv_text(name), 1, *figures))
    for manager, *figures in liability.by_manager():
        writerow(("account manager", csv_text(manager), "", "", *figures))
    out.close()
    return count
