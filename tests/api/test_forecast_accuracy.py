"""Last month's forecasts against what happened, and the next tier and forecast per agreement, over REST and
as downloads: the numbers of a small hand-built book, each manager's own agreements only, and a bad query
parameter named in a 400."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rebates.models import RebateRule, TierBand
from rebates.services import accrual_run_perform, accrual_run_start
from tests.api.conftest import client_for
from tests.excel.readback import app_subtotal, formula_cells, money, subtotals, workbook
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory, PurchaseLineFactory

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-04-05")]

D = Decimal
QUERIES = 7  # the request's own (token, permissions), the two runs, the count and the page
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def month(m):
    return datetime.date(2026, m, 1)


def quarterly_tiers(customer, *units):
    """docs/product.md's retroactive tiers (1 %; 2 % from 1,000 units; 3 % from 5,000) settled quarterly,
    bought `units` in January, February, ... at $10.00."""
    product = ProductFactory()
    agreement = AgreementFactory(customer=customer, products=[product], settlement_frequency="quarterly")
    rule = RebateRule.objects.create(agreement=agreement, kind="tiered", rate_type="percent",
                                     tier_basis="quantity", tier_method="retroactive")
    for threshold, rate in ((0, 1), (1000, 2), (5000, 3)):
        TierBand.objects.create(rule=rule, threshold=D(threshold), rate=D(rate))
    for m, quantity in enumerate(units, start=1):
        PurchaseLineFactory(customer=customer, product=product, month=month(m), quantity=D(quantity),
                            unit_price=D("10.00"))
    return agreement


def accrue(as_of):
    run = accrual_run_start(as_of=as_of, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk)


@pytest.fixture
def book(users):
    """Mine: 400 units in January and February, forecast at the end of February to buy 1,200 in the quarter
    ($240.00 at 2 %), then only 100 in March: 900 units at 1 %, $90.00. Theirs (the other manager's): 400 a
    month, as forecast. Then the run of 2 April."""
    mine = quarterly_tiers(CustomerFactory(account_manager=users["account_manager"], name="Acme Tools"),
                           "400", "400")
    theirs = quarterly_tiers(CustomerFactory(account_manager=users["other_manager"], name="Someone Else Ltd"),
                             "400", "400", "400")
    accrue(datetime.date(2026, 2, 28))
    PurchaseLineFactory(customer=mine.customer, product=mine.products.get(), month=month(3), quantity=D("100"),
                        unit_price=D("10.00"))
    accrue(datetime.date(2026, 4, 2))
    return {"mine": mine, "theirs": theirs}


MINE = {"forecast_as_of": "2026-02-28", "period_start": "2026-01", "period_end": "2026-03",
        "forecast_volume_quantity": "1200.000", "forecast_volume_amount": "12000.00", "forecast_rebate": "240.00",
        "actual_volume_quantity": "900.000", "actual_volume_amount": "9000.00", "actual_rebate": "90.00",
        "error": "150.00", "error_percent": "166.7", "currency": "USD"}


def test_a_manager_reads_last_months_forecast_of_their_quarter_with_its_error(users, book):
    answer = client_for(users["account_manager"]).get("/api/v1/forecast-accuracy/")

    assert answer.status_code == 200
    assert answer.json()["count"] == 1
    [row] = answer.json()["results"]
    assert row == {"agreement": book["mine"].number, "customer": book["mine"].customer.code, **MINE}


def test_finance_reads_every_agreement_the_largest_error_first(users, book):
    rows = client_for(users["finance"]).get("/api/v1/forecast-accuracy/").json()["results"]

    assert [(row["agreement"], row["error"], row["error_percent"]) for row in rows] == [
        (book["mine"].number, "150.00", "166.7"), (book["theirs"].number, "0.00", "0.0")]
    assert rows[1]["actual_volume_quantity"] == "1200.000" and rows[1]["actual_rebate"] == "240.00"


def test_the_accuracy_list_is_paged_and_filtered(users, book):
    finance = client_for(users["finance"])

    first = finance.get("/api/v1/forecast-accuracy/", {"page_size": 1}).json()
    assert first["count"] == 2 and len(first["results"]) == 1 and first["next"]
    only = finance.get("/api/v1/forecast-accuracy/", {"agreement": book["theirs"].number}).json()["results"]
    assert [row["agreement"] for row in only] == [book["theirs"].number]


def test_a_manager_filtering_on_another_managers_customer_gets_nothing(users, book):
    answer = client_for(users["account_manager"]).get("/api/v1/forecast-accuracy/",
                                                      {"customer": book["theirs"].customer.code})

    assert answer.status_code == 200 and answer.json()["results"] == []


@pytest.mark.parametrize(("params", "field"), [({"customer": ""}, "customer"), ({"page_size": "many"}, "page_size"),
                                               ({"page": "0"}, "page")])
def test_a_bad_query_parameter_answers_400_naming_it(users, book, params, field):
    answer = client_for(users["finance"]).get("/api/v1/forecast-accuracy/", params)

    assert answer.status_code == 400
    assert field in {detail["field"] for detail in answer.json()["details"]}


def test_the_accuracy_sheet_holds_the_same_figures_with_totals_that_follow_the_filter(users, book):
    answer = client_for(users["finance"]).get("/api/v1/exports/forecast-accuracy.xlsx")

    assert answer.status_code == 200 and answer["Content-Type"] == XLSX
    assert 'filename="forecast-accuracy-2026-04-05.xlsx"' in answer["Content-Disposition"]
    sheet = workbook(answer.content).active
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == ["Agreement", "Customer", "Customer name", "Forecast made on"]
    assert header[-3:] == ["Error", "Error %", "Currency"]
    first = [cell.value for cell in sheet[2]]
    assert first[0] == book["mine"].number and first[2] == "Acme Tools"
    assert first[3] == datetime.datetime(2026, 2, 28)
    assert (first[6], money(first[8]), first[9], money(first[11]), money(first[12]), first[13], first[14]) == (
        1200, D("240.00"), 900, D("90.00"), D("150.00"), 166.7, "USD")
    totals = [cell.value for cell in sheet[4]]
    assert totals[0] == "Total" and money(totals[12]) == D("150.00") and money(totals[8]) == D("480.00")
    assert sheet.auto_filter.ref == "A1:O3"
    formulas = subtotals(answer.content)
    assert app_subtotal(formulas["Forecast accuracy!M4"]) and formulas["Forecast accuracy!M4"].endswith("M2:M3)")


def test_the_sheet_download_refuses_a_customer_the_user_may_not_see(users, book):
    answer = client_for(users["finance"]).get("/api/v1/exports/forecast-accuracy.xlsx", {"customer": "NOPE"})

    assert answer.status_code == 400
    assert answer.json()["details"][0]["field"] == "customer"


def test_the_api_downloads_are_finances(users, book):
    manager = client_for(users["account_manager"])

    assert manager.get("/api/v1/exports/forecast-accuracy.xlsx").status_code == 403
    assert manager.get("/api/v1/exports/forecasts.xlsx").status_code == 403


def test_the_outlook_per_agreement_sheet_holds_the_apis_figures(users, book):
    finance = client_for(users["finance"])
    rows = {row["agreement"]: row for row in finance.get("/api/v1/forecasts/").json()["results"]}
    answer = finance.get("/api/v1/exports/forecasts.xlsx")

    assert answer.status_code == 200
    assert 'filename="outlook-per-agreement-2026-04-05.xlsx"' in answer["Content-Disposition"]
    sheet = workbook(answer.content).active
    header = [cell.value for cell in sheet[1]]
    lines = {line[0]: dict(zip(header, line, strict=True))
             for line in sheet.iter_rows(min_row=2, max_row=3, values_only=True)}
    assert set(lines) == set(rows) == {book["mine"].number, book["theirs"].number}
    for number, line in lines.items():
        api = rows[number]
        assert money(line["Forecast rebate"]) == D(api["rebate"])
        assert money(line["Forecast payout"]) == D(api["payout"])
        assert money(line["Earned to date"]) == D(api["rebate_to_date"])
        assert D(str(line["Forecast units"])) == D(api["volume_quantity"])
        assert line["Currency"] == "USD"
    # April to June: the quarter under way, each 1,000 units from the 2 % tier with nothing bought yet.
    mine = lines[book["mine"].number]
    assert (mine["Next threshold"], mine["Measured in"], mine["Units to go"]) == ("Next tier", "Units", 1000)
    assert mine["Days left"] == rows[book["mine"].number]["days_left"]
    assert mine["Reaching it adds"] is not None
    assert money(mine["Reaching it adds"]) == D(rows[book["mine"].number]["next_extra"])


def test_a_manager_downloads_their_own_outlook_and_accuracy_from_the_forecasts_page(users, book, client):
    client.force_login(users["account_manager"])

    page = client.get(reverse("forecasts")).content.decode()
    assert reverse("forecast-accuracy-sheet") in page and reverse("forecast-agreements-sheet") in page
    for name in ("forecast-accuracy-sheet", "forecast-agreements-sheet"):
        answer = client.get(reverse(name))
        assert answer.status_code == 200 and answer["Content-Type"] == XLSX
        cells = [value for row in workbook(answer.content).active.iter_rows(values_only=True) for value in row]
        assert book["mine"].number in cells
        assert book["theirs"].number not in cells and "Someone Else Ltd" not in cells


def test_the_accuracy_csv_of_the_page_keeps_the_figures_exact(users, book, client):
    client.force_login(users["account_manager"])

    answer = client.get(reverse("forecast-accuracy-sheet"), {"export": "csv"})

    assert answer.status_code == 200
    assert 'filename="forecast-accuracy-2026-04-05.csv"' in answer["Content-Disposition"]
    lines = answer.content.decode().splitlines()
    assert lines[1].split(",")[3:] == ["2026-02-28", "2026-01", "2026-03", "1200", "12000.00", "240.00", "900",
                                       "9000.00", "90.00", "150.00", "166.7", "USD"]


@pytest.mark.parametrize(("params", "field"), [({"export": "pdf"}, "export"), ({"customer": ""}, "customer"),
                                               ({"agreement": "AG-NOPE"}, "agreement"),
                                               ({"customer": "C\x07"}, "customer"),
                                               ({"agreement": "A" * 41}, "agreement")])
def test_a_page_download_with_a_bad_parameter_answers_400_naming_it(users, book, client, params, field):
    client.force_login(users["account_manager"])

    for name in ("forecast-accuracy-sheet", "forecast-agreements-sheet"):
        answer = client.get(reverse(name), params)
        assert answer.status_code == 400
        assert answer.content.decode().startswith(f"{field}:")


def test_a_manager_may_not_name_another_managers_agreement_in_a_download(users, book, client):
    client.force_login(users["account_manager"])

    answer = client.get(reverse("forecast-agreements-sheet"), {"agreement": book["theirs"].number})

    assert answer.status_code == 400 and book["theirs"].customer.name not in answer.content.decode()


@pytest.fixture
def two_currencies(users):
    """The same quarter as `book`'s own, bought by a customer in euros (with a name that reads as a formula)
    and one in dollars, both the same manager's."""
    manager = users["account_manager"]
    euros = quarterly_tiers(CustomerFactory(account_manager=manager, code="C-EU", name="=1+2 GmbH",
                                            currency="EUR"), "400", "400")
    dollars = quarterly_tiers(CustomerFactory(account_manager=manager, code="C-US", name="Dollar Ltd"),
                              "400", "400")
    accrue(datetime.date(2026, 2, 28))
    for agreement in (euros, dollars):
        PurchaseLineFactory(customer=agreement.customer, product=agreement.products.get(), month=month(3),
                            quantity=D("100"), unit_price=D("10.00"))
    accrue(datetime.date(2026, 4, 2))
    return {"euros": euros, "dollars": dollars}


def test_each_row_is_in_its_currency_and_the_totals_never_add_two_currencies(users, two_currencies, client):
    client.force_login(users["account_manager"])
    rows = client_for(users["account_manager"]).get("/api/v1/forecast-accuracy/").json()["results"]
    assert sorted((row["customer"], row["currency"], row["error"]) for row in rows) == [
        ("C-EU", "EUR", "150.00"), ("C-US", "USD", "150.00")]

    for name, error_column in (("forecast-accuracy-sheet", 12), ("forecast-agreements-sheet", 17)):
        content = client.get(reverse(name)).content
        sheet = workbook(content).active
        lines = list(sheet.iter_rows(min_row=2, max_row=3))
        euro = next(line for line in lines if line[1].value == "C-EU")
        assert euro[-1].value == "EUR" and "€" in euro[error_column].number_format
        total = sheet.cell(row=4, column=error_column + 1).value
        assert isinstance(total, str) and "€" in total and "$" in total
        assert formula_cells(content) == []  # the name is text, the totals the app's own words


def test_a_name_that_reads_as_a_formula_stays_text_in_the_csv(users, two_currencies, client):
    client.force_login(users["account_manager"])

    text = client.get(reverse("forecast-agreements-sheet"), {"export": "csv"}).content.decode()

    assert "'=1+2 GmbH" in text and ",=1+2" not in text


@pytest.mark.parametrize("extra", [0, 6])
def test_the_accuracy_list_reads_the_same_queries_however_many_rows(users, extra):
    for _ in range(1 + extra):
        quarterly_tiers(CustomerFactory(account_manager=users["other_manager"]), "400", "400", "300")
    accrue(datetime.date(2026, 2, 28))
    accrue(datetime.date(2026, 4, 2))
    finance = client_for(users["finance"])
    finance.get("/api/v1/forecast-accuracy/")  # signs the token in once

    with CaptureQueriesContext(connection) as captured:
        answer = finance.get("/api/v1/forecast-accuracy/")

    assert answer.json()["count"] == 1 + extra
    # What each period booked is read with the page: no query per row.
    assert len(captured) == QUERIES
