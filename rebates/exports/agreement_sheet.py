"""The agreement's monthly sheet: month, units, net price, rebate per unit, monthly rebate, cumulative
rebate, competitor claims that month, shortfall flag; as .xlsx or .csv.

The claims column is passed in (`claims_by_month`): rebates never reads price claims itself; the
pages app (`pages.sheets`) assembles it and calls these writers.
"""

from collections.abc import Mapping, Sequence
from datetime import date

from rebates.exports.cells import Column, CsvOut, XlsxWorkbook, excel_serial, plain_units, text_width
from rebates.selectors import AgreementStatement

COLUMNS = (
    Column("Month", "month", width=10),
    Column("Units", "quantity", width=10),
    Column("Net price", "unit_price", width=12),
    Column("Rebate per unit", "unit_price", width=12),
    Column("Monthly rebate", "money", width=14),
    Column("Cumulative rebate", "money", width=14),
    Column("Competitor claims that month", width=34),
    Column("Shortfall", width=10),
    # Parts of the month booked in a later month because it was locked: "2026-05 (-0.50)".
    Column("Booked in a later month", width=22),
)
CLAIMS_COLUMN = 6
HEADER_ROW = 7


def sheet_name(number: str) -> str:
    """The agreement number as a worksheet name: Excel refuses []:*?/\\ and more than 31 characters."""
    name = "".join("_" if ch in "[]:*?/\\" else ch for ch in number).strip("'")[:31]
    return name or "Monthly sheet"


def claims_text(claims: Sequence[str]) -> str:
    return "; ".join(claims)


def _about(statement: AgreementStatement):
    agreement = statement.agreement
    customer = agreement.customer
    manager = customer.account_manager
    return (
        ("Agreement", agreement.number),
        ("Customer", f"{customer.code} {customer.name}"),
        ("Account manager", (manager.get_full_name() or manager.username) if manager else ""),
        ("Program", agreement.program.name),
        ("Term", f"{agreement.start_month:%Y-%m} to {agreement.end_month:%Y-%m}"),
        ("Committed a month", "" if statement.committed_monthly_quantity is None
         else f"{statement.committed_monthly_quantity.normalize():f} units"),
    )


def write_agreement_xlsx(target, statement: AgreementStatement, *,
                         claims_by_month: Mapping[date, Sequence[str]] | None = None) -> int:
    """Write the sheet to `target` (a path or binary file); returns the number of months written."""
    claims_by_month = claims_by_month or {}
    workbook = XlsxWorkbook(target)
    # Amounts and prices in the agreement's currency's sign: the columns' formats, set before any row.
    currency = statement.agreement.customer.currency
    formats = {**workbook.formats, "money": workbook.money(currency), "unit_price": workbook.money(currency, places=4)}
    sheet = workbook.sheet(sheet_name(statement.agreement.number))
    for col, column in enumerate(COLUMNS):
        sheet.set_column(col, col, column.width, formats[column.kind])
    widths = [column.width for column in COLUMNS]
    sheet.write_string(0, 0, f"Monthly sheet of agreement {statement.agreement.number}", workbook.formats["title"])
    for row, (label, value) in enumerate(_about(statement), start=1):
        sheet.write_string(row, 0, label, workbook.formats["label"])
        sheet.write_string(row, 2, value)
    workbook.header(sheet, HEADER_ROW, COLUMNS)
    row = HEADER_ROW
    for month in statement.months:
        row += 1
        claims = claims_text(claims_by_month.get(month.month, ()))
        widths[CLAIMS_COLUMN] = text_width(claims, widths[CLAIMS_COLUMN])
        sheet.write_row(row, 0, (
            excel_serial(month.month), month.units, month.net_price, month.rebate_per_unit, month.monthly_rebate,
            month.cumulative_rebate, claims or None, shortfall_text(month), booked_later_text(month) or None))
        if month.units is not None and month.units != month.units.to_integral_value():
            sheet.write_number(row, 1, month.units, workbook.quantity_format(month.units))
    workbook.autofilter(sheet, HEADER_ROW, row, COLUMNS)
    row += 1
    workbook.total_row(sheet, row, COLUMNS, {0: "Total", 1: statement.total_units, 4: statement.total_rebate},
                       rows=(HEADER_ROW + 1, row - 1), currency=currency)
    if statement.referred:
        # A referral rule: what it earns on, each referred customer's net purchases by month.
        row += 2
        sheet.write_string(row, 0, "Referred customers' net purchases", workbook.formats["label"])
        for month, code, amount in statement.referred:
            row += 1
            sheet.write_row(row, 0, (excel_serial(month), code))
            sheet.write_number(row, 4, amount)
    sent_in_units = [(month.month, sent) for month in statement.months for sent in month.units_sent]
    if sent_in_units:
        # Lines sent in another unit than their product's base unit: the units above are base units; this
        # block shows each month's quantities as sent beside them.
        row += 2
        sheet.write_string(row, 0, f"Lines sent in other units (units above are {statement.base_unit})",
                           workbook.formats["label"])
        for month, (sku, unit, in_unit, base) in sent_in_units:
            row += 1
            sheet.write_row(row, 0, (excel_serial(month),))
            sheet.write_string(row, 1, sku)
            sheet.write_string(row, 2, f"{plain_units(in_unit)} {unit}")
            sheet.write_string(row, 3, f"{plain_units(base)} {statement.base_unit}")
    if statement.group is not None and statement.group.periods:
        # A buying group's agreement: each member's volume, share and part of each settlement period (by its
        # first month); no part when the group is paid.
        group = statement.group
        row += 2
        sheet.write_string(row, 0, f"Buying group members' shares of the {group.measured_in} "
                                   f"({'split among the members' if group.split else 'paid to the group'})",
                           workbook.formats["label"])
        for period in group.periods:
            for part in period.parts:
                row += 1
                sheet.write_row(row, 0, (excel_serial(period.first), part.member))
                sheet.write_string(row, 2, part.share_text)
                sheet.write_number(row, 3, part.volume)
                if part.amount is not None:
                    sheet.write_number(row, 4, part.amount)
    for col, column in enumerate(COLUMNS):
        sheet.set_column(col, col, widths[col], formats[column.kind])
    workbook.close()
    return len(statement.months)


def write_agreement_csv(stream, statement: AgreementStatement, *,
                        claims_by_month: Mapping[date, Sequence[str]] | None = None) -> int:
    """The same sheet as CSV (months YYYY-MM, amounts plain decimals, texts escaped against formulas)."""
    claims_by_month = claims_by_month or {}
    out = CsvOut(stream)
    writerow = out.row
    writerow(["Agreement", *[column.header for column in COLUMNS]])
    number = statement.agreement.number
    for month in statement.months:
        writerow((number, f"{month.month:%Y-%m}", _blank(plain_units(month.units)), _blank(month.net_price),
                  _blank(month.rebate_per_unit),
                  month.monthly_rebate, month.cumulative_rebate,
                  claims_text(claims_by_month.get(month.month, ())),
                  shortfall_text(month), booked_later_text(month)))
    writerow(("Total", "", plain_units(statement.total_units), "", "", statement.total_rebate, "", "", "", ""))
    out.close()
    return len(statement.months)


def shortfall_text(month) -> str:
    """The shortfall column: Yes, No, or "Not accrued yet" (a month after the last run: no guess)."""
    if not month.accrued:
        return NOT_ACCRUED
    return "Yes" if month.shortfall else "No"


NOT_ACCRUED = "Not accrued yet"


def booked_later_text(month) -> str:
    """The parts of a month booked in a later month (it was locked): "2026-05 (-0.50)", joined by "; "."""
    return "; ".join(f"{booked_in:%Y-%m} ({amount:.2f})" for booked_in, amount in month.booked_later)


def _blank(value):
    return "" if value is None else value
