"""Amounts in their currency's sign, and the accrual sheet and liability report per currency and in the
reporting currency: each figure converted at the stated month's rate, totals that reconcile, a missing rate
named, never guessed."""

import datetime
from decimal import Decimal as D
from io import BytesIO

import openpyxl
import pytest
from django.urls import reverse

from customers import roles
from rebates.engine.words import money as words_money
from rebates.exports.cells import money_format
from rebates.exports.settlement_statement import statement_pdf, statement_xlsx
from rebates.models import ExchangeRate, Settlement
from rebates.services.exports import accruals_export
from rebates.templatetags.figures import money, unit_money
from tests.excel.readback import csv_rows, values, workbook
from tests.factories import AgreementFactory, CustomerFactory, LedgerEntryFactory, UserFactory

pytestmark = pytest.mark.django_db
MARCH, APRIL = datetime.date(2026, 3, 1), datetime.date(2026, 4, 1)


def cents(value) -> D:
    return D(str(value)).quantize(D("0.01"))


@pytest.fixture
def book():
    """A customer in dollars and one in euros: 20.00 USD accrued in March; 10.05 EUR in March and 7.00 EUR in
    April. The euro has a rate for March only."""
    dollars = AgreementFactory(number="AG-USD", customer=CustomerFactory(code="C-US", name="Dollar Ltd"))
    euros = AgreementFactory(number="AG-EUR", customer=CustomerFactory(code="C-EU", name="Euro GmbH",
                                                                       currency="EUR"))
    LedgerEntryFactory(agreement=dollars, period=MARCH, amount=D("20.00"))
    LedgerEntryFactory(agreement=euros, period=MARCH, amount=D("10.05"))
    LedgerEntryFactory(agreement=euros, period=APRIL, amount=D("7.00"))
    ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=MARCH, rate=D("1.085"))
    return {"finance": UserFactory(username="fin", role=roles.FINANCE), "euros": euros, "dollars": dollars}


def sheets(user, **filters):
    return workbook(accruals_export(user=user, filters=filters, format="xlsx").content)


# --- the one spelling --------------------------------------------------------------------------------------


def test_the_sign_follows_the_currency():
    assert [money(D("-1234.5"), code) for code in ("USD", "EUR", "GBP", "CHF")] == [
        "-$1,234.50", "-€1,234.50", "-£1,234.50", "-CHF 1,234.50"]
    assert unit_money(D("0.12345"), "EUR") == "€0.1235" and money(None, "EUR") == "—"
    assert words_money(D("2"), 2, "GBP") == "£2.00"
    assert money_format("EUR") == '"€"#,##0.00;[Red]-"€"#,##0.00'
    assert money_format("CHF", 4) == '"CHF "#,##0.0000;[Red]-"CHF "#,##0.0000'


# --- a euro agreement's page, statement and sheets --------------------------------------------------------


def test_a_euro_agreements_page_shows_euros_and_no_dollar(book, client):
    client.force_login(book["finance"])
    page = client.get(reverse("agreement-detail", args=["AG-EUR"])).content.decode()
    assert "€17.05" in page and "$" not in page
    dollars = client.get(reverse("agreement-detail", args=["AG-USD"])).content.decode()
    assert "$20.00" in dollars and "€" not in dollars


def test_a_euro_customers_page_shows_euros_and_no_dollar(book, client):
    client.force_login(book["finance"])
    page = client.get(reverse("customer-detail", args=["C-EU"])).content.decode()
    assert "€" in page and "$" not in page


def test_a_euro_agreements_sheet_formats_its_amounts_in_euros(book, client):
    client.force_login(book["finance"])
    sheet = workbook(client.get(reverse("agreement-sheet", args=["AG-EUR"])).content).active
    formats = {cell.number_format for row in sheet.iter_rows() for cell in row}
    assert money_format("EUR") in formats and money_format("EUR", 4) in formats
    assert not [fmt for fmt in formats if "$" in fmt]


def test_a_euro_settlements_statement_is_in_euros(book):
    settlement = Settlement.objects.create(agreement=book["euros"], period_start=MARCH, period_end=APRIL,
                                           accrued_total=D("17.05"), amount=D("17.05"))
    settlement = Settlement.objects.select_related("agreement__customer", "agreement__program").get(pk=settlement.pk)
    sheet = openpyxl.load_workbook(BytesIO(statement_xlsx(settlement).content)).active
    formats = {cell.number_format for row in sheet.iter_rows() for cell in row if isinstance(cell.value, float | int)}
    assert money_format("EUR") in formats and not [fmt for fmt in formats if "$" in fmt]
    pdf = statement_pdf(settlement).content
    shown = pdf_strings(pdf)
    assert "€17.05" in shown and not [text for text in shown if "$" in text]


def pdf_strings(content: bytes) -> list[str]:
    """The literal strings of the PDF's inflated content streams, read as its core fonts do (Windows-1252)."""
    import re
    import zlib

    shown = []
    # Each stream is taken up to its "endstream" and inflated by a decompressor that stops where the zlib data
    # ends: the line break before "endstream" is never mistaken for the data's last byte (a compressed byte
    # that is a carriage return).
    for stream in re.finditer(rb"stream\r?\n(.*?)endstream", content, re.S):
        try:
            text = zlib.decompressobj().decompress(stream.group(1))
        except zlib.error:
            continue
        shown += [s.decode("cp1252") for s in re.findall(rb"\((.*?)\) Tj", text)]
    return shown


# --- the accrual sheet ------------------------------------------------------------------------------------


def test_the_accrual_sheet_gives_each_row_its_currency_and_its_months_figure_in_dollars(book):
    ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=APRIL, rate=D("1.09"))
    found = sheets(book["finance"], month_to="2026-04")  # the liability at April's rates too
    rows = values(found["Accruals"])
    assert rows[0][12:] == ["Currency", "Accrued in USD", "Unpaid in USD"]
    body = {(r[0], r[5].date()): (r[12], cents(r[8]), cents(r[11]), cents(r[13]), cents(r[14])) for r in rows[1:4]}
    # 10.05 EUR x 1.085 = 10.90425 -> 10.90; 7.00 x 1.09 = 7.63.
    assert body == {("AG-EUR", MARCH): ("EUR", D("10.05"), D("10.05"), D("10.90"), D("10.90")),
                    ("AG-EUR", APRIL): ("EUR", D("7.00"), D("7.00"), D("7.63"), D("7.63")),
                    ("AG-USD", MARCH): ("USD", D("20.00"), D("20.00"), D("20.00"), D("20.00"))}
    totals = {r[0]: r for r in rows[4:]}
    assert set(totals) == {"Total EUR (2 rows)", "Total USD (1 rows)", "Total in USD (3 rows)"}
    # Per currency: the sums of that currency's rows, never of both.
    assert (cents(totals["Total EUR (2 rows)"][8]), cents(totals["Total EUR (2 rows)"][11])) == (D("17.05"), D("17.05"))
    assert cents(totals["Total USD (1 rows)"][8]) == D("20.00")
    # In dollars: the sum of the rows' converted figures.
    reporting = totals["Total in USD (3 rows)"]
    assert (cents(reporting[13]), cents(reporting[14])) == (D("38.53"), D("38.53"))
    assert cents(reporting[13]) == sum(value for *_, value, _ in body.values())
    assert reporting[8] is None  # no silent sum of euros and dollars
    # Each amount in its own currency's sign.
    sheet = found["Accruals"]
    eur_row = next(row for row in sheet.iter_rows(min_row=2) if row[12].value == "EUR")
    assert eur_row[8].number_format == money_format("EUR") and eur_row[13].number_format == money_format("USD")
    rates = values(found["Rates"])
    listed = [(r[0], r[1], r[2].date(), D(str(r[3]))) for r in rates[3:]]
    assert listed == [("EUR", "USD", MARCH, D("1.085")), ("EUR", "USD", APRIL, D("1.09"))]


def test_a_missing_rate_is_named_in_the_row_the_total_and_the_rates_never_guessed(book):
    found = sheets(book["finance"])
    rows = values(found["Accruals"])
    april = next(r for r in rows if r[0] == "AG-EUR" and r[5] and r[5].date() == APRIL)
    assert april[13] == april[14] == "No EUR rate to USD for 2026-04."
    reporting = rows[-1]
    assert reporting[0] == "Total in USD (3 rows)"
    assert reporting[13] == "Not converted: No EUR rate to USD for 2026-04."
    rates = values(found["Rates"])
    assert ["EUR", "USD", "missing", "No EUR rate to USD for 2026-04."] in [[r[0], r[1], r[3], r[4]] for r in rates]


def test_the_accrual_csv_totals_per_currency_and_in_dollars(book):
    ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=APRIL, rate=D("1.09"))
    rows = csv_rows(accruals_export(user=book["finance"], format="csv").content)
    assert rows[0][-3:] == ["Currency", "Accrued in USD", "Unpaid in USD"]
    totals = {r[0]: r for r in rows if r[0].startswith("Total")}
    assert (totals["Total EUR (2 rows)"][8], totals["Total EUR (2 rows)"][12]) == ("17.05", "EUR")
    assert totals["Total in USD (3 rows)"][13:] == ["38.53", "38.53"]
    assert ["Rate", "EUR to USD", "2026-03", "1.085"] in rows and ["Rate", "EUR to USD", "2026-04", "1.09"] in rows


def test_a_sheet_in_one_currency_keeps_its_one_totals_row(book):
    rows = values(sheets(book["finance"], customer="C-US")["Accruals"])
    assert rows[-1][0] == "Total (1 rows)" and (cents(rows[-1][8]), cents(rows[-1][13])) == (D("20.00"), D("20.00"))


# --- the liability ----------------------------------------------------------------------------------------


def test_the_liability_converts_at_its_as_of_months_rate_and_reconciles(book):
    ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=APRIL, rate=D("1.09"))
    rows = values(sheets(book["finance"], month_to="2026-04")["Liability"])
    assert "rates of 2026-04" in rows[0][3]
    assert rows[1][8:10] == ["Currency", "Unpaid in USD"]
    customers = {r[0]: (r[8], cents(r[7]), cents(r[9])) for r in rows[2:4]}
    # The euro customer's 17.05 EUR unpaid at April's 1.09 (not March's 1.085): 18.5845 -> 18.58.
    assert customers == {"C-EU": ("EUR", D("17.05"), D("18.58")), "C-US": ("USD", D("20.00"), D("20.00"))}
    totals = {r[0]: r for r in rows[4:7]}
    assert (cents(totals["Total EUR"][7]), cents(totals["Total USD"][7])) == (D("17.05"), D("20.00"))
    assert cents(totals["Total in USD"][9]) == D("38.58") == sum(figure for *_, figure in customers.values())
    start = next(i for i, r in enumerate(rows) if r[0] == "Liability by account manager")
    managers = [r for r in rows[start + 2:] if r[0] and not r[0].startswith("Total")]
    assert sorted((r[7], cents(r[6]), cents(r[9])) for r in managers) == [("EUR", D("17.05"), D("18.58")),
                                                                          ("USD", D("20.00"), D("20.00"))]


def test_the_liability_names_a_missing_as_of_rate(book):
    rows = csv_rows(accruals_export(user=book["finance"], format="csv", report="liability",
                                    filters={"month_to": "2026-04"}).content)
    assert rows[0][-2:] == ["Currency", "Unpaid in USD at 2026-04 rates"]
    customers = {r[2]: (r[9], r[10], r[11]) for r in rows if r[0] == "customer"}
    assert customers == {"C-EU": ("17.05", "EUR", "No EUR rate to USD for 2026-04."),
                         "C-US": ("20.00", "USD", "20.00")}
    totals = {r[0]: r for r in rows if r[0].startswith("total")}
    assert (totals["total"][9], totals["total"][10]) in {("17.05", "EUR"), ("20.00", "USD")}
    assert totals["total in USD"][-1] == "Not converted: No EUR rate to USD for 2026-04."
    assert ["Rate", "EUR to USD", "2026-04", "No EUR rate to USD for 2026-04."] in rows


@pytest.mark.today("2026-12-04")
def test_without_month_to_the_liability_converts_at_the_last_month_shown_not_this_month(book):
    """The rule: the report's as-of month, `month_to`; none given, the last month of the rows shown (April here,
    though the sheet is made in December, which has no rate)."""
    ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=APRIL, rate=D("1.09"))
    found = sheets(book["finance"])
    rows = values(found["Liability"])
    assert "rates of 2026-04" in rows[0][3]
    customers = {r[0]: (r[8], cents(r[7]), cents(r[9])) for r in rows[2:4]}
    assert customers["C-EU"] == ("EUR", D("17.05"), D("18.58"))  # 17.05 x 1.09, April's rate
    assert cents(next(r for r in rows if r[0] == "Total in USD")[9]) == D("38.58")
    assert not [r for r in values(found["Rates"]) if r[2] and "2026-12" in str(r[2])]
    csv = csv_rows(accruals_export(user=book["finance"], format="csv", report="liability", filters={}).content)
    assert csv[0][-1] == "Unpaid in USD at 2026-04 rates"
    assert {r[2]: r[11] for r in csv if r[0] == "customer"} == {"C-EU": "18.58", "C-US": "20.00"}
    # Up to March, the as-of month is March: the euro customer's 10.05 of March at 1.085.
    march = csv_rows(accruals_export(user=book["finance"], format="csv", report="liability",
                                     filters={"customer": "C-EU", "month_to": "2026-03"}).content)
    assert march[0][-1] == "Unpaid in USD at 2026-03 rates"
    assert [r[11] for r in march if r[0] == "customer"] == ["10.90"]


@pytest.mark.today("2026-12-04")
def test_a_liability_without_rows_or_month_to_is_as_of_the_month_it_is_made_in(book):
    csv = csv_rows(accruals_export(user=book["finance"], format="csv", report="liability",
                                   filters={"month_from": "2026-06"}).content)
    assert csv[0][-1] == "Unpaid in USD at 2026-12 rates"


# --- lists of rows in different currencies -----------------------------------------------------------------


def test_a_list_shows_each_rows_currency_and_totals_per_currency(book, client):
    client.force_login(book["finance"])
    page = client.get(reverse("agreement-list")).content.decode()
    assert "€17.05" in page and "$20.00" in page
    totals = page[page.index('id="agreements-totals"'):]
    assert "€17.05 · $20.00" in totals[:totals.index("</tr>")]  # per currency, never 37.05
    rows = csv_rows(client.get(reverse("agreement-list"), {"export": "csv"}).content)
    assert rows[0][-1] == "Currency"
    assert {row[0]: row[-1] for row in rows[1:-1]} == {"AG-EUR": "EUR", "AG-USD": "USD"}
    assert rows[-1][0] == "Total" and "€17.05 · $20.00" in rows[-1]
    sheet = workbook(client.get(reverse("agreement-list"), {"export": "xlsx"}).content).active
    eur = next(row for row in sheet.iter_rows(min_row=2) if row[0].value == "AG-EUR")
    assert [cell.number_format for cell in eur if isinstance(cell.value, float | int)] == [money_format("EUR")] * 3
