"""Program effectiveness over customers in euros and in dollars: each customer's months converted into the
reporting currency (USD) at their own month's rate before the groups are summed, the rebate cost per month and
currency likewise, the rates used named (page, sheet and API); a missing rate named and the figures it would
convert not given.

The book of docs/programs.md with A (a program customer) and X (in the comparison group) in euros; their
amounts are then in EUR. Rates EUR to USD: 2025-01 1.04, 2025-02 1.05, 2026-01 1.10, 2026-02 1.12, 2026-03
1.085. By hand:

- A: focus 1,000.00 EUR in 2025-01 = 1,040.00; 1,800.00 EUR in 2026-01 = 1,980.00; other 1,000.00 EUR in 2025-02
  = 1,050.00 and in 2026-02 = 1,120.00. B (USD): focus 1,000.00 before, 1,200.00 now.
  Program net revenue 3,180.00 now, 2,040.00 before: growth 1,140 / 2,040 = 55.9%. All: 4,300.00 and 3,090.00;
  focus share 74.0% (73.953...) and 66.0% (66.019...), mix shift 7.9 pts.
- X: focus 1,000.00 EUR in 2025-01 = 1,040.00, 1,100.00 EUR in 2026-01 = 1,210.00. Y 1,000.00 before, Z 500.00
  now (USD). Comparison 1,710.00 now, 2,040.00 before: growth -16.2%.
- Expected net revenue 2,040.00 x 1,710 / 2,040 = 1,710.00; incremental 3,180.00 - 1,710.00 = 1,470.00.
- Accrued: A's 90.00 EUR of 2026-01 = 99.00, B's 60.00 USD: 159.00. Paid: A's 40.00 EUR of 2026-03 = 43.40.
  Forfeited: B's 10.00 USD. Per incremental unit 159.00 / 140 = 1.14; per incremental dollar 159 / 1,470
  = 0.1082. Units stay units: expected 160, incremental 140, as in the book of one currency.
"""

import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from customers.models import Customer
from programs.selectors import Period, effectiveness_read
from rebates.models import ExchangeRate
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db
D = datetime.date
Q1 = Period(D(2026, 1, 1), D(2026, 3, 1))
QUERY = {"period_from": "2026-01", "period_to": "2026-03"}
RATES = {D(2025, 1, 1): "1.04", D(2025, 2, 1): "1.05", D(2026, 1, 1): "1.10", D(2026, 2, 1): "1.12",
         D(2026, 3, 1): "1.085"}


@pytest.fixture
def in_two_currencies(book, settings):
    settings.REPORTING_CURRENCY = "USD"
    Customer.objects.filter(code__in=("A", "X")).update(currency="EUR")
    for month, rate in RATES.items():
        ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=month, rate=Decimal(rate))
    return book


def test_each_customers_months_convert_before_the_groups_are_summed(in_two_currencies):
    report = effectiveness_read(user=in_two_currencies["finance"], program=in_two_currencies["program"], period=Q1)
    m = report.measures
    assert report.currency == "USD" and report.missing == ()
    assert [(r.month, r.rate) for r in report.rates] == [(month, Decimal(rate)) for month, rate in RATES.items()]
    assert (m.program.revenue_now, m.program.revenue_before) == (Decimal("3180.00"), Decimal("2040.00"))
    assert (m.comparison.revenue_now, m.comparison.revenue_before) == (Decimal("1710.00"), Decimal("2040.00"))
    assert (m.program.revenue_growth, m.comparison.revenue_growth) == (Decimal("55.9"), Decimal("-16.2"))
    assert (m.program.focus_share_now, m.program.focus_share_before, m.program.mix_shift) == (
        Decimal("74.0"), Decimal("66.0"), Decimal("7.9"))
    assert (m.cost.accrued, m.cost.paid, m.cost.forfeited) == (Decimal("159.00"), Decimal("43.40"),
                                                               Decimal("10.00"))
    assert (m.expected_revenue, m.incremental_revenue) == (Decimal("1710.00"), Decimal("1470.00"))
    assert (m.expected_units, m.incremental_units) == (Decimal("160.000"), Decimal("140.000"))
    assert (m.cost_per_incremental_unit, m.cost_per_incremental_dollar) == (Decimal("1.14"), Decimal("0.1082"))


def test_the_page_gives_the_figures_in_the_reporting_currency_and_names_the_rates(in_two_currencies, client):
    client.force_login(in_two_currencies["finance"])
    page = client.get(reverse("program-effectiveness", args=["widgets-2026"]), QUERY).content.decode()
    assert 'id="cost-accrued">$159.00<' in page and 'id="cost-paid">$43.40<' in page
    assert 'id="incremental-revenue">$1,470.00<' in page and 'id="cost-per-dollar">$0.1082<' in page
    assert "$3,180.00 / $2,040.00" in page and "$1,710.00 / $2,040.00" in page and "€" not in page
    assert "Money figures are in USD, the reporting currency" in page
    for words in ("1 EUR = 1.04 USD (2025-01)", "1 EUR = 1.12 USD (2026-02)", "1 EUR = 1.085 USD (2026-03)"):
        assert words in page, words
    assert "Not converted" not in page


def test_the_sheet_gives_the_figures_in_the_reporting_currency_and_lists_the_rates(in_two_currencies, client):
    client.force_login(in_two_currencies["finance"])
    response = client.get(reverse("program-effectiveness-sheet", args=["widgets-2026"]), QUERY)
    rows = {row[0]: row[1:] for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)}
    assert rows["Currency"][0] == "USD (reporting currency)"
    assert rows["Net revenue, period"][:2] == ("$3,180.00", "$1,710.00")
    assert rows["Net revenue growth"][:2] == ("55.9%", "-16.2%")
    assert rows["Rebate accrued"][0] == "$159.00" and rows["Rebate paid"][0] == "$43.40"
    assert rows["Expected net revenue"][0] == "$1,710.00" and rows["Incremental net revenue"][0] == "$1,470.00"
    assert rows["Cost per incremental unit"][0] == "$1.14" and rows["Cost per incremental dollar"][0] == "$0.1082"
    assert rows["Rate, EUR to USD, 2026-03"][0] == "1.085"
    assert [key for key in rows if str(key).startswith("Rate, ")] == [
        f"Rate, EUR to USD, {month:%Y-%m}" for month in RATES]


def test_the_api_gives_the_figures_in_the_reporting_currency_and_the_rates(in_two_currencies):
    body = client_for(in_two_currencies["finance"]).get("/api/v1/program-effectiveness/widgets-2026/", QUERY).json()
    assert body["currency"] == "USD" and body["missing_rates"] == []
    assert [(r["currency"], r["to_currency"], r["month"], Decimal(r["rate"])) for r in body["rates"]] == [
        ("EUR", "USD", f"{month:%Y-%m}", Decimal(rate)) for month, rate in RATES.items()]
    assert body["cost"] == {"accrued": "159.00", "paid": "43.40", "forfeited": "10.00"}
    ours, theirs = body["program_customers"], body["comparison_group"]
    assert (ours["revenue_now"], ours["revenue_before"]) == ("3180.00", "2040.00")
    assert (theirs["revenue_now"], theirs["revenue_before"]) == ("1710.00", "2040.00")
    assert (Decimal(body["expected_revenue"]), Decimal(body["incremental_revenue"])) == (1710, 1470)
    assert Decimal(body["cost_per_incremental_dollar"]) == Decimal("0.1082")
    assert Decimal(body["incremental_units"]) == 140


def test_a_missing_rate_is_named_and_the_figures_it_would_convert_are_not_given(in_two_currencies, client):
    ExchangeRate.objects.filter(month=D(2026, 1, 1)).delete()
    report = effectiveness_read(user=in_two_currencies["finance"], program=in_two_currencies["program"], period=Q1)
    m = report.measures
    assert report.missing_words == ("No EUR rate to USD for 2026-01.",)
    # A's and X's January is in every group's net revenue of the period and in the accrued cost.
    assert (m.program.revenue_now, m.comparison.revenue_now, m.cost.accrued) == (None, None, None)
    assert (m.expected_revenue, m.incremental_revenue, m.cost_per_incremental_dollar) == (None, None, None)
    assert m.cost_per_incremental_unit is None and m.program.revenue_growth is None
    # What needs no January euros is still given, and units stay units.
    assert (m.program.revenue_before, m.cost.paid, m.cost.forfeited) == (
        Decimal("2040.00"), Decimal("43.40"), Decimal("10.00"))
    assert m.incremental_units == Decimal("140.000")

    client.force_login(in_two_currencies["finance"])
    page = client.get(reverse("program-effectiveness", args=["widgets-2026"]), QUERY).content.decode()
    assert "No EUR rate to USD for 2026-01." in page
    accrued = page[page.index('id="cost-accrued"'):].split("</td>")[0]
    assert "Not converted" in accrued and "$" not in accrued
    assert "$159.00" not in page and "$99.00" not in page and 'id="cost-paid">$43.40<' in page

    response = client.get(reverse("program-effectiveness-sheet", args=["widgets-2026"]), QUERY)
    rows = {row[0]: row[1:] for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)}
    assert rows["Rebate accrued"][0].startswith("Not converted")
    assert rows["Net revenue, period"][:2] == ("Not converted: a rate is missing",) * 2
    assert rows["Net revenue, year before"][:2] == ("$2,040.00", "$2,040.00")
    assert rows["Rate, EUR to USD, 2026-01"][0] == "missing"
    assert rows["Rate, EUR to USD, 2026-01"][2] == "No EUR rate to USD for 2026-01."

    body = client_for(in_two_currencies["finance"]).get("/api/v1/program-effectiveness/widgets-2026/", QUERY).json()
    assert body["missing_rates"] == ["No EUR rate to USD for 2026-01."]
    assert {"currency": "EUR", "to_currency": "USD", "month": "2026-01", "rate": None} in body["rates"]
    assert body["cost"] == {"accrued": None, "paid": "43.40", "forfeited": "10.00"}
    assert body["program_customers"]["revenue_now"] is None and body["incremental_revenue"] is None
