"""The aged liability in the reporting currency: rows per group and currency of the agreements, each converted
once at the rate of the month aged on, the rates used listed on the page, the sheet and the API; a missing
rate is named and its rows left unconverted, never guessed (docs/currencies.md)."""

import csv
from datetime import date
from decimal import Decimal as D

import pytest
from django.urls import reverse

from customers import roles
from rebates.aging import aged_liability, bucket_totals
from rebates.currencies import convert_amount
from rebates.models import ExchangeRate, LedgerEntry
from tests.factories import AgreementFactory, CustomerFactory, LedgerEntryFactory, ProgramFactory, UserFactory

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 12, 4)
DECEMBER = date(2026, 12, 1)


@pytest.fixture
def book():
    widgets = ProgramFactory(code="widgets", name="Widgets")
    dollars = AgreementFactory(number="AG-USD", program=widgets, customer=CustomerFactory(code="C-US"))
    euros = AgreementFactory(number="AG-EUR", program=widgets,
                             customer=CustomerFactory(code="C-EU", currency="EUR"))
    more_euros = AgreementFactory(number="AG-EUR2", program=widgets,
                                  customer=CustomerFactory(code="C-EU2", currency="EUR"))
    LedgerEntryFactory(agreement=dollars, period=date(2026, 11, 1), kind="accrual", amount=D("20.00"))
    LedgerEntryFactory(agreement=euros, period=date(2026, 11, 1), kind="accrual", amount=D("10.05"))
    LedgerEntryFactory(agreement=euros, period=date(2026, 3, 1), kind="accrual", amount=D("33.33"))
    LedgerEntryFactory(agreement=more_euros, period=date(2025, 6, 1), kind="accrual", amount=D("0.05"))
    return {"finance": UserFactory(username="fin", role=roles.FINANCE)}


def rate(value, month=DECEMBER):
    return ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=month, rate=D(value))


def test_each_row_keeps_its_currency_and_converts_at_the_month_aged_ons_rate(book):
    rate("1.085")
    rate("2.000", month=date(2026, 11, 1))  # a neighbouring month's rate is never used
    report = aged_liability(user=book["finance"], as_of=AS_OF)
    rows = {row.code: (row.currency, row.buckets, row.reporting) for row in report.rows}
    # 10.05 x 1.085 = 10.90425 -> 10.90; 33.33 x 1.085 = 36.16305 -> 36.16; 0.05 x 1.085 = 0.05425 -> 0.05.
    assert rows == {
        "C-US": ("USD", (D("20.00"), D("0"), D("0"), D("0")), (D("20.00"), D("0"), D("0"), D("0"), D("20.00"))),
        "C-EU": ("EUR", (D("10.05"), D("0"), D("33.33"), D("0")),
                 (D("10.90"), D("0.00"), D("36.16"), D("0.00"), D("47.06"))),
        "C-EU2": ("EUR", (D("0"), D("0"), D("0"), D("0.05")), (D("0.00"), D("0.00"), D("0.00"), D("0.05"), D("0.05"))),
    }
    assert (report.reporting_currency, report.rate_month) == ("USD", DECEMBER)
    assert [(used.currency, used.to_currency, used.month, used.rate) for used in report.rates] == [
        ("EUR", "USD", DECEMBER, D("1.085"))]


def test_the_report_in_the_reporting_currency_reconciles_with_the_per_currency_figures(book):
    rate("1.085")
    report = aged_liability(user=book["finance"], as_of=AS_OF)
    per_currency = {currency: (buckets, total) for currency, buckets, total in report.totals_per_currency}
    # In the agreements' currencies the rows add up to the ledger's unpaid balance, currency by currency.
    assert per_currency == {"USD": ((D("20.00"), D("0"), D("0"), D("0")), D("20.00")),
                            "EUR": ((D("10.05"), D("0"), D("33.33"), D("0.05")), D("43.43"))}
    ledger_eur = sum(LedgerEntry.objects.filter(agreement__customer__currency="EUR").values_list("amount", flat=True))
    assert per_currency["EUR"][1] == ledger_eur
    # In the reporting currency: each row's buckets converted once, the totals their sums, bucket by bucket.
    buckets, total = report.reporting_totals
    assert buckets == (D("30.90"), D("0.00"), D("36.16"), D("0.05")) and total == D("67.11")
    for index in range(4):
        assert buckets[index] == sum(row.reporting[index] for row in report.rows)
        assert buckets[index] == per_currency["USD"][0][index] + sum(
            convert_amount(row.buckets[index], D("1.085")) for row in report.rows if row.currency == "EUR")
    assert total == sum(buckets) == sum(row.reporting_total for row in report.rows)


def test_a_missing_rate_is_named_and_its_rows_left_unconverted(book):
    rate("1.085", month=date(2026, 11, 1))  # November's rate is there; December's, the month aged on, is not
    report = aged_liability(user=book["finance"], as_of=AS_OF)
    assert [(used.currency, used.month, used.rate) for used in report.rates] == [("EUR", DECEMBER, None)]
    assert not report.complete and report.reporting_totals is None
    assert {row.code: row.reporting for row in report.rows if row.currency == "EUR"} == {"C-EU": None, "C-EU2": None}
    assert [row.reporting_total for row in report.rows if row.currency == "USD"] == [D("20.00")]
    assert bucket_totals(report.rows)[1] == D("63.43")  # the rows in their own currencies are all still there


def test_a_program_with_agreements_in_two_currencies_has_a_row_for_each(book):
    rate("1.085")
    rows = aged_liability(user=book["finance"], as_of=AS_OF, group="program").rows
    assert [(row.code, row.currency, row.total, row.reporting_total) for row in rows] == [
        ("widgets", "EUR", D("43.43"), D("47.11")), ("widgets", "USD", D("20.00"), D("20.00"))]


def test_the_page_lists_the_rates_used_and_names_a_missing_one(book, client):
    client.force_login(book["finance"])
    page = client.get(reverse("aged-liability"), {"as_of": "2026-12-04"}).content.decode()
    assert "Rates used" in page and "no EUR rate to USD" in page and "a rate is missing" in page
    rate("1.085")
    page = client.get(reverse("aged-liability"), {"as_of": "2026-12-04"}).content.decode()
    assert "1 EUR = 1.085 USD" in page and "67.11" in page and "Total in EUR" in page


def test_the_sheet_carries_the_reporting_columns_and_the_rates(book, client):
    rate("1.085")
    client.force_login(book["finance"])
    rows = client.get(reverse("aged-liability"), {"as_of": "2026-12-04", "export": "csv"}).content.decode(
        "utf-8-sig").splitlines()
    assert rows[0].endswith("Unpaid in all,0–90 days in USD,91–180 days in USD,181–365 days in USD,"
                            "over 365 days in USD,Unpaid in USD")
    euros = next(row for row in csv.reader(rows) if row and row[0] == "C-EU")
    assert euros[2:] == ["EUR", "10.05", "0.00", "33.33", "0.00", "43.38", "10.90", "0.00", "36.16", "0.00", "47.06"]
    assert any("Rate used: 1 EUR = 1.085 USD (2026-12)" in row for row in rows)


def test_the_api_carries_the_reporting_currency_the_rates_and_a_missing_one(book, client):
    client.force_login(book["finance"])
    answer = client.get("/api/v1/aged-liability/", {"as_of": "2026-12-04"}).json()
    assert answer["rates"] == [{"currency": "EUR", "to_currency": "USD", "month": "2026-12", "rate": None}]
    assert answer["reporting_total"] is None
    assert {row["code"]: row["reporting"] for row in answer["rows"]}["C-EU"] is None
    rate("1.085")
    answer = client.get("/api/v1/aged-liability/", {"as_of": "2026-12-04"}).json()
    assert (answer["reporting_currency"], answer["rate_month"], answer["reporting_total"]["total"]) == (
        "USD", "2026-12", "67.11")
    assert {row["code"]: (row["currency"], row["total"], row["reporting"]["total"]) for row in answer["rows"]} == {
        "C-US": ("USD", "20.00", "20.00"), "C-EU": ("EUR", "43.38", "47.06"), "C-EU2": ("EUR", "0.05", "0.05")}


def test_the_statement_rounds_half_cents_as_the_conversion_rule_does(book):
    rate("1.05")
    ties = AgreementFactory(number="AG-TIE", customer=CustomerFactory(code="C-TIE", currency="EUR"))
    LedgerEntryFactory(agreement=ties, period=date(2026, 11, 1), kind="accrual", amount=D("0.30"))
    owes = AgreementFactory(number="AG-OWES", customer=CustomerFactory(code="C-OWES", currency="EUR"))
    LedgerEntryFactory(agreement=owes, period=date(2026, 11, 1), kind="adjustment", amount=D("-0.30"))
    rows = {row.code: row for row in aged_liability(user=book["finance"], as_of=AS_OF).rows}
    # 0.30 x 1.05 = 0.315 and -0.315: half-up (away from zero) to the cent, as convert_amount rounds.
    assert rows["C-TIE"].reporting[0] == convert_amount(D("0.30"), D("1.05")) == D("0.32")
    assert rows["C-OWES"].reporting == (D("-0.32"), D("0.00"), D("0.00"), D("0.00"), D("-0.32"))
    assert rows["C-OWES"].reporting[0] == convert_amount(D("-0.30"), D("1.05"))
