"""The GL journal in the reporting currency: each agreement books in its customer's currency; the journal keeps
the lines of each currency apart and shows them in the reporting currency at each month's rate, with the
rates used listed and a missing rate named, never guessed."""

from datetime import date
from decimal import Decimal as D

import pytest
from django.test import override_settings
from django.urls import reverse

from customers import roles
from rebates.journal import journal
from rebates.models import ExchangeRate
from tests.factories import AgreementFactory, CustomerFactory, LedgerEntryFactory, ProgramFactory, UserFactory

pytestmark = pytest.mark.django_db
MARCH, APRIL = date(2026, 3, 1), date(2026, 4, 1)


@pytest.fixture
def book():
    widgets = ProgramFactory(code="widgets", gl_expense_account="6100", gl_liability_account="2350",
                             gl_credit_note_account="1200")
    dollars = AgreementFactory(number="AG-USD", program=widgets, customer=CustomerFactory(code="C-US"))
    euros = AgreementFactory(number="AG-EUR", program=widgets, customer=CustomerFactory(code="C-EU", currency="EUR"))
    LedgerEntryFactory(agreement=dollars, period=MARCH, kind="accrual", amount=D("20.00"))
    LedgerEntryFactory(agreement=euros, period=MARCH, kind="accrual", amount=D("10.05"))
    LedgerEntryFactory(agreement=euros, period=APRIL, kind="accrual", amount=D("7.00"))
    ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=MARCH, rate=D("1.085"))
    return {"finance": UserFactory(username="fin", role=roles.FINANCE), "euros": euros}


def test_an_agreement_books_in_its_customers_currency(book):
    assert book["euros"].currency == "EUR"


def test_the_lines_of_each_currency_stay_apart_and_convert_at_their_months_rate(book):
    made = journal(user=book["finance"], first=MARCH, last=MARCH)
    lines = {(line.account, line.currency): (line.debit, line.credit, line.reporting_debit, line.reporting_credit)
             for line in made.lines}
    # 10.05 EUR x 1.085 = 10.90425 -> 10.90 USD, half-up to the cent.
    assert lines == {
        ("6100", "USD"): (D("20.00"), D("0.00"), D("20.00"), D("0.00")),
        ("2350", "USD"): (D("0.00"), D("20.00"), D("0.00"), D("20.00")),
        ("6100", "EUR"): (D("10.05"), D("0.00"), D("10.90"), D("0.00")),
        ("2350", "EUR"): (D("0.00"), D("10.05"), D("0.00"), D("10.90")),
    }
    assert (made.reporting_currency, made.reporting_debit, made.reporting_credit) == ("USD", D("30.90"), D("30.90"))
    assert [(rate.currency, rate.month, rate.rate) for rate in made.rates] == [("EUR", MARCH, D("1.085"))]


def test_a_month_without_its_rate_is_not_converted_and_the_missing_rate_is_named(book):
    made = journal(user=book["finance"], first=APRIL, last=APRIL)
    assert {line.reporting_debit for line in made.lines} == {None}
    assert made.reporting_debit is None and not made.complete
    assert [(rate.currency, rate.month, rate.rate) for rate in made.rates] == [("EUR", APRIL, None)]
    assert made.balanced and made.reconciles  # in the agreements' currencies, as ever


@override_settings(REPORTING_CURRENCY="EUR")
def test_another_reporting_currency_takes_its_own_rates(book):
    ExchangeRate.objects.create(currency="USD", to_currency="EUR", month=MARCH, rate=D("0.92"))
    made = journal(user=book["finance"], first=MARCH, last=MARCH)
    assert made.reporting_debit == D("10.05") + D("18.40")


def test_the_journal_page_lists_the_rates_used(book, client):
    client.force_login(book["finance"])
    page = client.get(reverse("journal"), {"month_from": "2026-03", "month_to": "2026-04"}).content.decode()
    assert "Rates used" in page
    assert "1 EUR = 1.085 USD" in page and "no EUR rate to USD" in page


def test_the_journal_sheet_has_the_reporting_columns_and_the_rates(book, client):
    client.force_login(book["finance"])
    rows = client.get(reverse("journal"), {"month_from": "2026-03", "export": "csv"}).content.decode(
        "utf-8-sig").splitlines()
    assert rows[0].endswith("Ledger entries,Currency,Debit in USD,Credit in USD")
    assert "2026-03,6100,Rebate expense,,Accrual,10.05,0.00,1,EUR,10.90,0.00" in rows
    assert any("Rate used: 1 EUR = 1.085" in row for row in rows)


def test_the_journal_api_carries_the_reporting_currency_and_rates(book, client):
    client.force_login(book["finance"])
    answer = client.get("/api/v1/journals/", {"month_from": "2026-03"}).json()
    assert (answer["reporting_currency"], answer["reporting_debit"]) == ("USD", "30.90")
    assert answer["rates"] == [{"currency": "EUR", "to_currency": "USD", "month": "2026-03",
                                "rate": "1.0850000000"}]
    assert {(line["currency"], line["reporting_debit"]) for line in answer["lines"]} >= {("EUR", "10.90")}
