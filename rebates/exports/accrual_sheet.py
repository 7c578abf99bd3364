"""The finance accrual sheet: one row per agreement and month, a totals row, and the liability by customer
and by account manager on a second sheet. As .xlsx (streamed) or as .csv (one file per report).

Amounts are in their agreement's currency (its customer's), each row says which, and totals are per
currency, never a sum of different currencies. Each row and the liability also give a figure in the reporting
currency (settings.REPORTING_CURRENCY) by the journal's rule (rebates.reporting): an accrual row converts at
the rate of its own month, the liability at the rate of its as-of month (`month_to`, else the last month of
the rows shown), half-up to the cent, figure by figure; a missing rate is named in the cell and the totals, never
guessed, and the rates used are listed (the Rates sheet; rate lines at the end of a .csv).

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
from django.db.models import F, Func, IntegerField

from config import clock
from rebates.currencies import missing_rate_reason
from rebates.engine.money import CENT, ZERO_MONEY
from rebates.engine.periods import month_of
from rebates.exports.cells import Column, CsvOut, XlsxWorkbook, excel_serial, plain_units, text_width
from rebates.reporting import RateBook, reporting_currency
from rebates.selectors import accrual_rows, last_accrual_month, liability_by_customer, quantized
from rebates.sql.exports import row_batches as sql_row_batches
from rebates.sql.exports import snapshot_read_only

QUANTITY_STEP = Decimal("0.001")
TEXT_FIELDS = ("number", "customer_code", "customer_name", "manager_name", "program")
FIGURE_FIELDS = ("units", "eligible", "accrued", "paid", "forfeited", "unpaid")
# The sheet's row, in column order: the .xlsx reads the month as Excel's serial, the .csv as a date.
XLSX_FIELDS = (*TEXT_FIELDS, "month_serial", *FIGURE_FIELDS, "currency", "month")
CSV_FIELDS = (*TEXT_FIELDS, "month", *FIGURE_FIELDS, "currency")
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
CURRENCY_COLUMN = 12  # then accrued and unpaid in the reporting currency
CUSTOMER_COLUMNS = (
    Column("Customer code", width=14),
    Column("Customer", width=28),
    Column("Account manager", width=20),
    Column("Agreements", "quantity", width=11),
    Column("Accrued", "money", width=15),
    Column("Paid", "money", width=15),
    Column("Forfeited", "money", width=15),
    Column("Unpaid (liability)", "money", width=18),
    Column("Currency", width=10),
)
MANAGER_COLUMNS = (
    Column("Account manager", width=20),
    Column("Customers", "quantity", width=11),
    Column("Agreements", "quantity", width=11),
    Column("Accrued", "money", width=15),
    Column("Paid", "money", width=15),
    Column("Forfeited", "money", width=15),
    Column("Unpaid (liability)", "money", width=18),
    Column("Currency", width=10),
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
    rows = accrual_rows(user=user, cumulative=False, **filters).annotate(currency=F("agreement__customer__currency"))
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

    # (code, name, manager, agreements, rows, units, eligible, accrued, paid, forfeited, unpaid, currency) per
    # customer
    customers: list[tuple] = field(default_factory=list)
    longest_number: int = 0
    longest_program: int = 0

    @property
    def rows(self) -> int:
        return sum(customer[4] for customer in self.customers)

    @property
    def currencies(self) -> list[str]:
        """The currencies the sheet's amounts are in (its customers'), in order."""
        return sorted({customer[-1] for customer in self.customers})

    def totals_by_currency(self) -> dict[str, tuple[int, list[Decimal]]]:
        """currency -> (rows, [units, eligible, accrued, paid, forfeited, unpaid]) over that currency's rows;
        one entry (the reporting currency) for a sheet without rows."""
        totals = {}
        for customer in self.customers:
            rows, sums = totals.setdefault(customer[-1], (0, [Decimal("0.000"), *[ZERO_MONEY] * 5]))
            for i, value in enumerate(customer[5:11]):
                sums[i] += value
            totals[customer[-1]] = (rows + customer[4], sums)
        return dict(sorted(totals.items())) or {reporting_currency(): (0, [Decimal("0.000"), *[ZERO_MONEY] * 5])}

    def by_customer(self):
        """(code, name, manager, agreements, accrued, paid, forfeited, unpaid, currency) per customer, by code."""
        return [(code, name, manager, agreements, *figures[2:])
                for code, name, manager, agreements, _rows, *figures in self.customers]

    def by_manager(self):
        """(manager, customers, agreements, accrued, paid, forfeited, unpaid, currency) per account manager
        and currency: a manager whose customers buy in two currencies has a line for each."""
        managers: dict = {}
        for _code, _name, manager, agreements, _rows, _units, _eligible, *figures, currency in self.customers:
            sums = managers.setdefault((manager or NO_MANAGER, currency),
                                       [0, 0, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY])
            for i, value in enumerate((1, agreements, *figures)):
                sums[i] += value
        return [(manager, *values, currency) for (manager, currency), values in sorted(managers.items())]


def sheet_summary(*, user, filters) -> Summary:
    """The sheet summed per customer in one aggregate query, each figure with its places."""
    summary = Summary()
    for row in liability_by_customer(user=user, **filters):
        code, name, manager, agreements, count, units, *money, longest_number, longest_program, currency = row
        summary.customers.append((code, name, manager, agreements, count, quantized(units, QUANTITY_STEP),
                                  *(quantized(value, CENT) for value in money), currency))
        summary.longest_number = max(summary.longest_number, longest_number or 0)
        summary.longest_program = max(summary.longest_program, longest_program or 0)
    return summary


def sheet_row_count(*, user, filters, limit=None) -> int:
    """How many rows the sheet holds (counting no further than `limit` when given)."""
    rows = accrual_rows(user=user, cumulative=False, **filters).order_by()
    return (rows[:limit] if limit else rows).count()


def liability_month(filters, *, user) -> date:
    """The month whose rates convert the liability, the report's as-of month: the sheet's last month
    (`month_to`) when it is given, else the last month of the rows it shows (the latest month of the ledger in
    its selection); a sheet without rows, the month it is made in (it has nothing to convert)."""
    if filters.get("month_to"):
        return filters["month_to"]
    return last_accrual_month(user=user, **filters) or month_of(clock.today())


def reporting_columns(currency: str) -> tuple[Column, Column]:
    """The accrual sheet's two figures in the reporting currency."""
    return (Column(f"Accrued in {currency}", "reporting", width=16),
            Column(f"Unpaid in {currency}", "reporting", width=16))


def missing_text(book: RateBook) -> str:
    """What a reporting total says in place of a figure when rates are missing: each one named."""
    return "Not converted: " + " ".join(
        missing_rate_reason(rate.currency, rate.to_currency, rate.month) for rate in book.missing)


def total_label(currency: str, currencies: int, rows: int | None = None, label: str = "Total") -> str:
    """"Total (12 rows)" for a sheet in one currency, "Total EUR (5 rows)" per currency of a mixed one."""
    words = label if currencies == 1 else f"{label} {currency}"
    return words if rows is None else f"{words} ({rows} rows)"


Progress = Callable[[int, int], None] | None


def write_accrual_xlsx(target, *, user, filters, about=(), progress: Progress = None) -> int:
    """Write the finance accrual sheet, the liability sheet, the rates used and an "About" sheet to `target` (a
    path or a binary file), for `user` with the accruals filters. `progress(done, total)` follows the rows.
    Returns the number of rows written."""
    with one_snapshot():
        summary = sheet_summary(user=user, filters=filters)
        as_of = liability_month(filters, user=user)  # read in the same snapshot as the rows
        book = RateBook(summary.currencies)
        reporting = book.currency
        total = summary.rows
        workbook = XlsxWorkbook(target)
        workbook.formats["reporting"] = workbook.money(reporting)
        columns = _sized_accrual_columns(summary, reporting)
        sheet = workbook.sheet("Accruals", columns)
        workbook.header(sheet, 0, columns)
        # Each cell by its own typed writer (text always as a string cell), with the column's format. The texts
        # are the agreement's, the same on each of its rows (by number, month): checked for a formula once.
        text, number = sheet.write_checked_string, sheet._write_number
        month, quantity = (workbook.formats[kind] for kind in ("month", "quantity"))
        in_reporting = workbook.formats["reporting"]
        fraction = workbook.formats["quantity_fraction"]
        text_format = workbook.formats["text"]
        row, shown, converted = 0, None, [ZERO_MONEY, ZERO_MONEY]
        for batch in row_batches(sheet_queryset(user=user, filters=filters)):
            for agreement, code, name, manager, program, serial, units, eligible, accrued, paid, forfeited, \
                    unpaid, currency, first_day in batch:
                if agreement != shown:
                    shown = agreement
                    number_fmt, code_fmt, name_fmt, manager_fmt, program_fmt = (sheet.text_format(value, text_format)
                                          for value in (agreement, code, name, manager, program))
                    money = workbook.money(currency)
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
                text(row, 12, currency, text_format)
                for col, value in ((13, accrued), (14, unpaid)):
                    figure = book.convert(value, currency, first_day)
                    if figure is None:
                        text(row, col, missing_rate_reason(currency, reporting, first_day), text_format)
                    else:
                        number(row, col, figure, in_reporting)
                        converted[col - 13] += figure
            if progress is not None:
                progress(row, total)
    workbook.autofilter(sheet, 0, row, columns)
    _write_accrual_totals(workbook, sheet, row, columns, summary, book, converted)
    _write_liability_sheet(workbook, summary, book, as_of)
    _write_rates_sheet(workbook, book, as_of)
    _write_about_sheet(workbook, about)
    workbook.close()
    if progress is not None:
        progress(row, row)
    return row


def _write_accrual_totals(workbook, sheet, row, columns, summary, book, converted):
    """Below the rows: a totals row per currency (in one currency, SUBTOTALs that follow the filter), then the
    reporting currency's totals, the sum of the rows' converted figures (or the missing rates named)."""
    by_currency = summary.totals_by_currency()
    last = row
    for currency, (rows, sums) in by_currency.items():
        row += 1
        workbook.total_row(sheet, row, columns, {0: total_label(currency, len(by_currency), rows),
                                                 **dict(enumerate(sums, start=FIRST_FIGURE)),
                                                 CURRENCY_COLUMN: currency},
                           rows=(1, last) if len(by_currency) == 1 else None, currency=currency)
    if len(by_currency) > 1:
        row += 1
        workbook.total_row(sheet, row, columns, {0: f"Total in {book.currency} ({last} rows)"})
    if book.missing:
        workbook.total_row(sheet, row, columns, {13: missing_text(book), 14: missing_text(book)})
    else:
        workbook.total_row(sheet, row, columns, {13: converted[0], 14: converted[1]}, rows=(1, last),
                           currency=book.currency)


def _sized_accrual_columns(summary: Summary, reporting: str):
    """The columns sized to their longest text (known from the summary before the first row is written)."""
    widths = {0: summary.longest_number, 4: summary.longest_program}
    for code, name, manager, *_ in summary.customers:
        widths[1] = max(widths.get(1, 0), len(code or ""))
        widths[2] = max(widths.get(2, 0), len(name or ""))
        widths[3] = max(widths.get(3, 0), len(manager or ""))
    return tuple(Column(column.header, column.kind, text_width("x" * widths[col], column.width))
                 if col in widths else column
                 for col, column in enumerate((*ACCRUAL_COLUMNS, Column("Currency", width=10),
                                               *reporting_columns(reporting))))


def _liability_in_reporting(book: RateBook, summary_rows, as_of: date):
    """Each line's unpaid liability in the reporting currency at `as_of`'s rate (None: the rate is missing),
    and their sum (None when any is missing)."""
    figures = [book.convert(values[-2], values[-1], as_of) for values in summary_rows]
    return figures, (None if None in figures else sum(figures, ZERO_MONEY))


def _write_liability_sheet(workbook: XlsxWorkbook, summary: Summary, book: RateBook, as_of: date):
    reporting = book.currency
    unpaid_column = Column(f"Unpaid in {reporting}", "reporting", width=16)
    customer_columns = (*CUSTOMER_COLUMNS, unpaid_column)
    manager_columns = (*MANAGER_COLUMNS, Column("", width=10), unpaid_column)
    sheet = workbook.sheet("Liability", customer_columns)
    sheet.write_string(0, 0, "Liability by customer", workbook.formats["title"])
    sheet.write_string(0, 3, f"Each figure in its customer's currency; in {reporting} at the rates of "
                             f"{as_of:%Y-%m} (Rates sheet).")
    workbook.header(sheet, 1, customer_columns)
    widths = [column.width for column in customer_columns]
    row = 1
    customers = summary.by_customer()
    in_reporting, reporting_total = _liability_in_reporting(book, customers, as_of)
    sums: dict[str, list] = {}
    text, number = sheet._write_string, sheet._write_number
    for values, figure in zip(customers, in_reporting, strict=True):
        row += 1
        currency = values[-1]
        for col in (0, 1, 2):
            text(row, col, values[col])
            if values[col]:
                widths[col] = text_width(values[col], widths[col])
        money = workbook.money(currency)
        sums_of = sums.setdefault(currency, [0, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY])
        for i, value in enumerate(values[3:8]):
            number(row, i + 3, value, money if i else None)
            sums_of[i] += value
        text(row, 8, currency)
        _write_reporting(workbook, sheet, row, 9, figure, missing_rate_reason(currency, reporting, as_of))
    workbook.autofilter(sheet, 1, row, customer_columns)
    last = row
    for currency, figures in sorted(sums.items()) or [(reporting, [0, *[ZERO_MONEY] * 4])]:
        row += 1
        workbook.total_row(sheet, row, customer_columns, {0: total_label(currency, len(sums) or 1),
                                                          **dict(enumerate(figures, start=3)), 8: currency},
                           rows=(2, last) if len(sums) <= 1 else None, currency=currency)
    if len(sums) > 1:
        row += 1
        workbook.total_row(sheet, row, customer_columns, {0: f"Total in {reporting}"})
    _write_reporting_total(workbook, sheet, row, customer_columns, 9, reporting_total, book,
                           rows=(2, last))

    row += 3
    sheet.write_string(row, 0, "Liability by account manager", workbook.formats["title"])
    row += 1
    workbook.header(sheet, row, manager_columns, freeze=False)
    first = row + 1
    managers = summary.by_manager()
    in_reporting, reporting_total = _liability_in_reporting(book, managers, as_of)
    sums = {}
    for values, figure in zip(managers, in_reporting, strict=True):
        row += 1
        currency = values[-1]
        # The two tables share columns: each cell takes the manager table's own format.
        sheet.write_string(row, 0, values[0])
        widths[0] = text_width(values[0], widths[0])
        sums_of = sums.setdefault(currency, [0, 0, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY])
        for col, value in enumerate(values[1:7], start=1):
            kind = MANAGER_COLUMNS[col].kind
            sheet.write_number(row, col, value, workbook.money(currency) if kind == "money" else workbook.formats[kind])
            sums_of[col - 1] += value
        sheet.write_string(row, 7, currency)
        _write_reporting(workbook, sheet, row, 9, figure, missing_rate_reason(currency, reporting, as_of))
    last = row
    for currency, figures in sorted(sums.items()) or [(reporting, [0, 0, *[ZERO_MONEY] * 4])]:
        row += 1
        workbook.total_row(sheet, row, manager_columns, {0: total_label(currency, len(sums) or 1),
                                                         **dict(enumerate(figures, start=1)), 7: currency},
                           currency=currency)
    if len(sums) > 1:
        row += 1
        workbook.total_row(sheet, row, manager_columns, {0: f"Total in {reporting}"})
    _write_reporting_total(workbook, sheet, row, manager_columns, 9, reporting_total, book,
                           rows=(first, last) if last >= first else None)
    for col, column in enumerate(customer_columns):
        sheet.set_column(col, col, widths[col], workbook.formats[column.kind])


def _write_reporting(workbook, sheet, row, col, figure, reason):
    if figure is None:
        sheet.write_string(row, col, reason)
    else:
        sheet.write_number(row, col, figure, workbook.formats["reporting"])


def _write_reporting_total(workbook, sheet, row, columns, col, total, book, *, rows):
    if total is None:
        workbook.total_row(sheet, row, columns, {col: missing_text(book)})
    else:
        workbook.total_row(sheet, row, columns, {col: total}, rows=rows, currency=book.currency)


RATES_COLUMNS = (Column("Currency", width=10), Column("To", width=8), Column("Month", "month", width=10),
                 Column("Rate", width=16), Column("Used for", width=60))


def _write_rates_sheet(workbook: XlsxWorkbook, book: RateBook, as_of: date):
    """The rates the sheet converted at, and those it lacked, named."""
    sheet = workbook.sheet("Rates", RATES_COLUMNS)
    sheet.write_string(0, 0, f"Rates into {book.currency}", workbook.formats["title"])
    sheet.write_string(1, 0, f"An accrual row converts at the rate of its own month; the liability at the rate of "
                             f"{as_of:%Y-%m}. Each figure is rounded half-up to the cent; a missing rate is never "
                             "guessed: its figures are left unconverted.")
    workbook.header(sheet, 2, RATES_COLUMNS)
    rate_format = workbook.add_format({"num_format": "0.0000######"})
    row = 2
    for rate in book.rates:
        row += 1
        sheet.write_string(row, 0, rate.currency)
        sheet.write_string(row, 1, rate.to_currency)
        sheet.write_number(row, 2, excel_serial(rate.month), workbook.formats["month"])
        if rate.rate is None:
            sheet.write_string(row, 3, "missing")
            sheet.write_string(row, 4, missing_rate_reason(rate.currency, rate.to_currency, rate.month))
        else:
            sheet.write_number(row, 3, rate.rate, rate_format)
            sheet.write_string(row, 4, "the liability" if rate.month == as_of else f"the rows of {rate.month:%Y-%m}")
    if row == 2:
        sheet.write_string(row + 1, 0, f"None: every figure is in {book.currency}.")


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


def _rate_lines(book: RateBook, as_of: date | None = None) -> list[tuple]:
    """The rates a .csv converted at, as lines after its totals: ("Rate", "EUR to USD", "2026-03", rate or the
    missing rate named)."""
    return [("Rate", f"{rate.currency} to {rate.to_currency}", f"{rate.month:%Y-%m}",
             format(rate.rate.normalize(), "f") if rate.rate is not None
             else missing_rate_reason(rate.currency, rate.to_currency, rate.month))
            for rate in book.rates]


def write_accrual_csv(stream, *, user, filters, progress: Progress = None) -> int:
    """The finance accrual sheet as CSV: a header, one line per agreement and month, a totals line per
    currency (and one in the reporting currency when they are several), then the rates used.
    Months are YYYY-MM, amounts plain decimals, texts escaped against formulas (R14, in CsvOut)."""
    out = CsvOut(stream)
    writerow = out.row
    months = {}
    with one_snapshot():
        summary = sheet_summary(user=user, filters=filters)
        book = RateBook(summary.currencies)
        reporting = book.currency
        writerow([column.header for column in ACCRUAL_COLUMNS] + ["Currency"]
                 + [column.header for column in reporting_columns(reporting)])
        total = summary.rows
        count = 0
        converted = [ZERO_MONEY, ZERO_MONEY]
        for batch in row_batches(sheet_queryset(user=user, filters=filters, fields=CSV_FIELDS)):
            for number, code, name, manager, program, month, units, *money, currency in batch:
                label = months.get(month)
                if label is None:
                    label = months[month] = f"{month:%Y-%m}"
                # Every figure with its places.
                money = [quantized(value, CENT) for value in money]
                figures = []
                for i, value in enumerate((money[1], money[4])):
                    figure = book.convert(value, currency, month)
                    if figure is None:
                        figures.append(missing_rate_reason(currency, reporting, month))
                    else:
                        figures.append(figure)
                        converted[i] += figure
                writerow((number, code, name, manager, program, label, plain_units(quantized(units, QUANTITY_STEP)),
                          *money, currency, *figures))
            count += len(batch)
            if progress is not None:
                progress(count, total)
    by_currency = summary.totals_by_currency()
    reporting_totals = [missing_text(book)] * 2 if book.missing else converted
    for currency, (rows, (units, *money)) in by_currency.items():
        line = [total_label(currency, len(by_currency), rows), "", "", "", "", "", plain_units(units), *money, currency]
        writerow(line + (reporting_totals if len(by_currency) == 1 else ["", ""]))
    if len(by_currency) > 1:
        writerow([f"Total in {reporting} ({count} rows)", *[""] * 11, reporting, *reporting_totals])
    for line in _rate_lines(book):
        writerow(line)
    out.close()
    if progress is not None:
        progress(count, count)
    return count


LIABILITY_CSV_HEADER = ("Report", "Account manager", "Customer code", "Customer", "Customers", "Agreements",
                        "Accrued", "Paid", "Forfeited", "Unpaid (liability)", "Currency")


def write_liability_csv(stream, *, user, filters, progress: Progress = None) -> int:
    """The liability report as CSV: one line per customer, then one per account manager and currency, in one
    table; then a total per currency, the total in the reporting currency (at the as-of month's rates) and the
    rates used. Returns the number of sheet rows it sums."""
    summary = sheet_summary(user=user, filters=filters)
    book = RateBook(summary.currencies)
    reporting = book.currency
    as_of = liability_month(filters, user=user)
    out = CsvOut(stream)
    writerow = out.row
    writerow((*LIABILITY_CSV_HEADER, f"Unpaid in {reporting} at {as_of:%Y-%m} rates"))

    def shown(figure, currency):
        return missing_rate_reason(currency, reporting, as_of) if figure is None else figure

    customers = summary.by_customer()
    figures, reporting_total = _liability_in_reporting(book, customers, as_of)
    for (code, name, manager, *values, currency), figure in zip(customers, figures, strict=True):
        writerow(("customer", manager or NO_MANAGER, code, name, 1, *values, currency, shown(figure, currency)))
    managers = summary.by_manager()
    for (manager, *values, currency), figure in zip(managers, _liability_in_reporting(book, managers, as_of)[0],
                                                    strict=True):
        writerow(("account manager", manager, "", "", *values, currency, shown(figure, currency)))
    sums: dict[str, list] = {}
    for _code, _name, _manager, agreements, *values, currency in customers:
        line = sums.setdefault(currency, [0, 0, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY, ZERO_MONEY])
        for i, value in enumerate((1, agreements, *values)):
            line[i] += value
    for currency, values in sorted(sums.items()):
        writerow(("total", "", "", "", *values, currency, ""))
    writerow((f"total in {reporting}", "", "", "", "", "", "", "", "", "", reporting,
              missing_text(book) if reporting_total is None else reporting_total))
    for line in _rate_lines(book):
        writerow(line)
    out.close()
    if progress is not None:
        progress(summary.rows, summary.rows)
    return summary.rows
