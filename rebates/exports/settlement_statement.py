"""A customer statement of one settlement, sent with its credit note: the customer, the agreement, the
period, what was earned month by month and each ledger entry behind it, what earlier months added
(adjustments), what interim payments already paid, the amount and the credit note number; as .xlsx and
as PDF (fpdf2 with its core fonts: nothing to fetch or install beside it)."""

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from io import BytesIO

from django.db.models import Sum
from fpdf import FPDF

from config import clock
from rebates.engine.words import money
from rebates.exports.accrual_export import ExportFile
from rebates.exports.cells import XLSX_CONTENT_TYPE, Column, XlsxWorkbook, excel_serial, plain_units
from rebates.groups import PayoutPart, settlement_parts
from rebates.models import EARNED_KINDS, LedgerEntry, Settlement
from rebates.selectors import units_sent_by_month

ZERO = Decimal("0.00")

MONTH_COLUMNS = (
    Column("Month", "month", width=12),
    Column("Units", "quantity", width=12),
    Column("Eligible amount", "money", width=16),
    Column("Rebate earned", "money", width=16),
)
PART_COLUMNS = (
    Column("Member", width=12),
    Column("Volume", "quantity", width=12),
    Column("Share", width=10),
    Column("Paid to it", "money", width=16),
    Column("Credit note", width=16),
)
ENTRY_COLUMNS = (
    Column("Month", "month", width=12),
    Column("Entry", width=14),
    Column("Units", "quantity", width=12),
    Column("Eligible amount", "money", width=16),
    Column("Rebate", "money", width=16),
    Column("Booked on", "date", width=12),
)


@dataclass(frozen=True)
class StatementMonth:
    month: date
    units: Decimal
    eligible: Decimal
    earned: Decimal


@dataclass(frozen=True)
class SettlementStatement:
    """What the customer statement of `settlement` shows; `months` and `entries` cover its months only
    (months earned in and the entries booked for them), so their sum is the settlement's accrued total."""

    settlement: Settlement
    months: list[StatementMonth]
    entries: list[LedgerEntry]
    # A buying group's agreement split among its members: what the settlement pays each (rebates.groups).
    parts: list[PayoutPart] = field(default_factory=list)
    # The base unit the units are in, and the lines sent in another unit: (month, sku, unit, in unit, base).
    base_unit: str = ""
    units_sent: list[tuple] = field(default_factory=list)

    @property
    def earned(self) -> Decimal:
        return sum((month.earned for month in self.months), ZERO)


def settlement_statement(settlement: Settlement) -> SettlementStatement:
    """The statement of a settlement the caller may see (two queries: the months, the entries)."""
    covered = LedgerEntry.objects.filter(agreement_id=settlement.agreement_id, kind__in=EARNED_KINDS,
                                         period__gte=settlement.period_start, period__lte=settlement.period_end)
    months = [StatementMonth(month=row["period"], units=row["units"] or ZERO, eligible=row["eligible"] or ZERO,
                             earned=row["earned"] or ZERO)
              for row in covered.order_by("period").values("period").annotate(
                  units=Sum("quantity"), eligible=Sum("eligible_amount"), earned=Sum("amount"))]
    entries = list(covered.order_by("period", "booked_at", "pk"))
    sent, base_unit = units_sent_by_month(settlement.agreement, [month.month for month in months])
    return SettlementStatement(settlement=settlement, months=months, entries=entries,
                               parts=settlement_parts(settlement), base_unit=base_unit,
                               units_sent=[(month, *line) for month in sorted(sent) for line in sent[month]])


def units_sent_title(statement: SettlementStatement) -> str:
    return f"Lines sent in other units (units above are {statement.base_unit})"


def statement_file_name(settlement: Settlement, extension: str) -> str:
    """A name a clerk keeps: statement-AG-2026-0042-2026-01-to-2026-12.xlsx."""
    number = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in settlement.agreement.number)
    return (f"statement-{number}-{settlement.period_start:%Y-%m}-to-{settlement.period_end:%Y-%m}"
            f"{'-interim' if settlement.interim else ''}.{extension}")


def statement_facts(statement: SettlementStatement) -> list[tuple[str, str]]:
    """The heading facts of the statement, as (label, text), in the order shown."""
    settlement = statement.settlement
    agreement = settlement.agreement
    customer = agreement.customer
    return [
        ("Customer", f"{customer.code} {customer.name}"),
        ("Agreement", agreement.number),
        ("Program", agreement.program.name),
        ("Period", f"{settlement.period_start:%Y-%m} to {settlement.period_end:%Y-%m}"
                   + (" (interim payment)" if settlement.interim else "")),
        ("Credit note", "one for each member, listed below" if statement.parts
                        else settlement.payment_reference or "not yet issued"),
        ("Paid on", f"{settlement.paid_on:%Y-%m-%d}" if settlement.paid_on else "not yet paid"),
    ]


def statement_figures(statement: SettlementStatement) -> list[tuple[str, Decimal]]:
    """How the amount is made up: earned in the period, plus adjustments, less interim payments."""
    settlement = statement.settlement
    return [
        ("Rebate earned in the period", settlement.accrued_total),
        ("Adjustments to earlier months", settlement.adjustments),
        ("Less interim payments already made", -settlement.already_paid),
        ("Amount of this credit note", settlement.amount),
    ]


def write_statement_xlsx(target, statement: SettlementStatement) -> None:
    """Write the statement to `target` (a path or a binary file): one sheet with the facts, the figures,
    the months and the entries."""
    settlement = statement.settlement
    workbook = XlsxWorkbook(target)
    money = workbook.money(settlement.agreement.customer.currency)
    sheet = workbook.sheet("Statement")
    widths = [max(m.width, e.width) for m, e in zip(MONTH_COLUMNS, ENTRY_COLUMNS, strict=False)]
    widths += [column.width for column in ENTRY_COLUMNS[len(MONTH_COLUMNS):]]
    for col, width in enumerate(widths):
        sheet.set_column(col, col, max(width, 24) if col == 0 else width)
    sheet.write_string(0, 0, f"Rebate statement of {settlement.agreement.customer.name}", workbook.formats["title"])
    row = 2
    for label, text in statement_facts(statement):
        sheet.write_string(row, 0, label, workbook.formats["label"])
        sheet.write_string(row, 1, text)
        row += 1
    row += 1
    for label, amount in statement_figures(statement):
        sheet.write_string(row, 0, label, workbook.formats["label"])
        sheet.write_number(row, 1, amount, money)
        row += 1
    if statement.parts:
        row += 1
        sheet.write_string(row, 0, "Paid to the members (each its own credit note)", workbook.formats["label"])
        row += 1
        workbook.header(sheet, row, PART_COLUMNS, freeze=False)
        for part in statement.parts:
            row += 1
            sheet.write_string(row, 0, part.member)
            sheet.write_number(row, 1, part.volume, workbook.quantity_format(part.volume))
            sheet.write_string(row, 2, part.share_text)
            sheet.write_number(row, 3, part.amount, money)
            sheet.write_string(row, 4, part.payment_reference or "not yet issued")
        row += 1
    row += 1
    sheet.write_string(row, 0, "Rebate earned by month", workbook.formats["label"])
    row += 1
    workbook.header(sheet, row, MONTH_COLUMNS, freeze=False)
    for month in statement.months:
        row += 1
        sheet.write_number(row, 0, excel_serial(month.month), workbook.formats["month"])
        sheet.write_number(row, 1, month.units, workbook.quantity_format(month.units))
        sheet.write_number(row, 2, month.eligible, money)
        sheet.write_number(row, 3, month.earned, money)
    row += 1
    workbook.total_row(sheet, row, MONTH_COLUMNS, {0: "Total", 3: statement.earned},
                       currency=settlement.agreement.customer.currency)
    if statement.units_sent:
        # Lines sent in boxes, cases, ...: the units above are base units; as sent beside them.
        row += 2
        sheet.write_string(row, 0, units_sent_title(statement), workbook.formats["label"])
        for month, sku, unit, in_unit, base in statement.units_sent:
            row += 1
            sheet.write_number(row, 0, excel_serial(month), workbook.formats["month"])
            sheet.write_string(row, 1, sku)
            sheet.write_string(row, 2, f"{plain_units(in_unit)} {unit}")
            sheet.write_string(row, 3, f"{plain_units(base)} {statement.base_unit}")
    row += 2
    sheet.write_string(row, 0, "Ledger entries of the period", workbook.formats["label"])
    row += 1
    workbook.header(sheet, row, ENTRY_COLUMNS, freeze=False)
    for entry in statement.entries:
        row += 1
        sheet.write_number(row, 0, excel_serial(entry.period), workbook.formats["month"])
        sheet.write_string(row, 1, entry.get_kind_display())
        sheet.write_number(row, 2, entry.quantity, workbook.quantity_format(entry.quantity))
        sheet.write_number(row, 3, entry.eligible_amount, money)
        sheet.write_number(row, 4, entry.amount, money)
        sheet.write_number(row, 5, excel_serial(entry.booked_at.date()), workbook.formats["date"])
    workbook.close()


def statement_xlsx(settlement: Settlement) -> ExportFile:
    """The settlement's customer statement as an .xlsx download (the API and the settlement page)."""
    content = BytesIO()
    write_statement_xlsx(content, settlement_statement(settlement))
    return ExportFile(name=statement_file_name(settlement, "xlsx"), content_type=XLSX_CONTENT_TYPE,
                      content=content.getvalue())


PDF_CONTENT_TYPE = "application/pdf"
# Letters NFKD does not reduce to a Latin-1 base, and the punctuation a name or note often holds.
_PDF_SPELLINGS = str.maketrans({"Ł": "L", "ł": "l", "Œ": "OE", "œ": "oe", "Đ": "D", "đ": "d", "ı": "i",
                                "–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "€": "EUR",
                                "…": "..."})


def pdf_text(value) -> str:
    """Text the PDF core fonts can show (Latin-1): accents kept where Latin-1 has them, other letters
    reduced to their base letter (NFKD), anything else as "?"."""
    out = []
    for ch in str(value).translate(_PDF_SPELLINGS):
        try:
            ch.encode("latin-1")
            out.append(ch)
        except UnicodeEncodeError:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            try:
                base.encode("latin-1")
                out.append(base or "?")
            except UnicodeEncodeError:
                out.append("?")
    return "".join(out)


def pdf_money(amount: Decimal, currency: str | None = None) -> str:
    """An amount in its currency's sign, as the pages write it (the PDF's fonts read Windows-1252, which holds
    "€" and "£")."""
    return money(amount, 2, currency)


def pdf_units(units: Decimal) -> str:
    return f"{units:,.0f}" if units == units.to_integral_value() else f"{units.normalize():,f}"


def write_statement_pdf(statement: SettlementStatement) -> bytes:
    """The statement as an A4 PDF: the heading facts, how the amount is made up, the months and the entries
    (their table's heading repeated on each page)."""
    settlement = statement.settlement
    currency = settlement.agreement.customer.currency
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"  # Latin-1 and the euro sign
    pdf.set_creation_date(clock.now())
    pdf.set_title(pdf_text(f"Rebate statement {settlement.agreement.number}"))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 15)
    pdf.multi_cell(0, 8, pdf_text(f"Rebate statement of {settlement.agreement.customer.name}"),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", size=10)
    with pdf.table(col_widths=(45, 135), first_row_as_headings=False, borders_layout="NONE",
                   line_height=6) as table:
        for label, text in statement_facts(statement):
            row = table.row()
            row.cell(pdf_text(label))
            row.cell(pdf_text(text))
    pdf.ln(4)
    with pdf.table(col_widths=(120, 60), first_row_as_headings=False, borders_layout="HORIZONTAL_LINES",
                   text_align=("LEFT", "RIGHT"), line_height=6) as table:
        for label, amount in statement_figures(statement):
            row = table.row()
            row.cell(pdf_text(label))
            row.cell(pdf_money(amount, currency))
    if statement.parts:
        pdf.ln(6)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, "Paid to the members (each its own credit note)", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        with pdf.table(col_widths=(40, 30, 25, 40, 45), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
                       line_height=5.5) as table:
            table.row([column.header for column in PART_COLUMNS])
            for part in statement.parts:
                table.row([pdf_text(part.member), pdf_units(part.volume), part.share_text,
                           pdf_money(part.amount, currency),
                           pdf_text(part.payment_reference or "not yet issued")])
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Rebate earned by month", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    with pdf.table(col_widths=(40, 40, 50, 50), text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
                   line_height=5.5) as table:
        table.row([column.header for column in MONTH_COLUMNS])
        for month in statement.months:
            table.row([f"{month.month:%Y-%m}", pdf_units(month.units), pdf_money(month.eligible, currency),
                       pdf_money(month.earned, currency)])
        table.row(["Total", "", "", pdf_money(statement.earned, currency)])
    if statement.units_sent:
        pdf.ln(6)
        pdf.set_font("Helvetica", "B", 11)
        pdf.cell(0, 7, pdf_text(units_sent_title(statement)), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=9)
        with pdf.table(col_widths=(40, 50, 45, 45), text_align=("LEFT", "LEFT", "RIGHT", "RIGHT"),
                       line_height=5.5) as table:
            table.row(["Month", "Product", "As sent", "In base units"])
            for month, sku, unit, in_unit, base in statement.units_sent:
                table.row([f"{month:%Y-%m}", pdf_text(sku), pdf_text(f"{plain_units(in_unit)} {unit}"),
                           pdf_text(f"{plain_units(base)} {statement.base_unit}")])
    pdf.ln(6)
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(0, 7, "Ledger entries of the period", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=9)
    with pdf.table(col_widths=(25, 30, 25, 40, 35, 25), text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT"),
                   line_height=5.5) as table:
        table.row([column.header for column in ENTRY_COLUMNS])
        for entry in statement.entries:
            table.row([f"{entry.period:%Y-%m}", entry.get_kind_display(), pdf_units(entry.quantity),
                       pdf_money(entry.eligible_amount, currency),
                       pdf_money(entry.amount, currency), f"{entry.booked_at:%Y-%m-%d}"])
    return bytes(pdf.output())


def statement_pdf(settlement: Settlement) -> ExportFile:
    """The settlement's customer statement as a PDF download."""
    return ExportFile(name=statement_file_name(settlement, "pdf"), content_type=PDF_CONTENT_TYPE,
                      content=write_statement_pdf(settlement_statement(settlement)))
