"""Program effectiveness on the hand-computed book of docs/programs.md, through the selectors, the API and
the page; and each formula's zero denominator answered with "—" (None, null)."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from programs.effectiveness import CustomerFigures, RebateCost, effectiveness
from programs.selectors import Period, effectiveness_read
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db
Q1 = Period(datetime.date(2026, 1, 1), datetime.date(2026, 3, 1))
QUERY = {"period_from": "2026-01", "period_to": "2026-03"}


def test_the_worked_example_of_the_docs(book):
    report = effectiveness_read(user=book["finance"], program=book["program"], period=Q1)
    m = report.measures
    assert (m.program.customers, m.comparison.customers) == (2, 3)
    assert report.segments == ("Contractors",) and report.focus_lines == ("Fasteners",)
    assert (m.program.units_now, m.program.units_before) == (Decimal("300"), Decimal("200"))
    assert (m.program.revenue_now, m.program.revenue_before) == (Decimal("3000.00"), Decimal("2000.00"))
    assert m.program.units_growth == Decimal("50.0") and m.comparison.units_growth == Decimal("-20.0")
    assert (m.cost.accrued, m.cost.paid, m.cost.forfeited) == (Decimal("150.00"), Decimal("40.00"), Decimal("10.00"))
    assert m.expected_units == Decimal("160") and m.incremental_units == Decimal("140")
    assert m.expected_revenue == Decimal("1600.00") and m.incremental_revenue == Decimal("1400.00")
    assert m.cost_per_incremental_unit == Decimal("1.07")
    assert m.cost_per_incremental_dollar == Decimal("0.1071")
    assert (m.program.kept, m.program.lost, m.program.retention) == (2, 0, Decimal("100.0"))
    assert (m.comparison.kept, m.comparison.lost, m.comparison.retention) == (1, 1, Decimal("50.0"))
    assert (m.program.focus_share_now, m.program.focus_share_before, m.program.mix_shift) == (
        Decimal("75.0"), Decimal("66.7"), Decimal("8.3"))
    assert (m.comparison.focus_share_now, m.comparison.focus_share_before, m.comparison.mix_shift) == (
        Decimal("61.5"), Decimal("66.7"), Decimal("-5.1"))


def test_an_account_manager_measures_their_own_customers_only(book):
    m = effectiveness_read(user=book["am_one"], program=book["program"], period=Q1).measures
    # A against X: 180 after 100 units, X 110 after 100; A's $90.00 accrued.
    assert (m.program.customers, m.comparison.customers) == (1, 1)
    assert m.expected_units == Decimal("110") and m.incremental_units == Decimal("70")
    assert m.cost.accrued == Decimal("90.00") and m.cost_per_incremental_unit == Decimal("1.29")


def test_zero_denominators_are_none_not_a_crash():
    m = effectiveness([CustomerFigures(units_now=Decimal("5"), focus_now=Decimal("50.00"), all_now=Decimal("50.00"))],
                      [], RebateCost(accrued=Decimal("10.00")))
    assert m.program.units_growth is None and m.program.mix_shift is None and m.program.retention is None
    assert m.expected_units is None and m.incremental_units is None
    assert m.cost_per_incremental_unit is None and m.cost_per_incremental_dollar is None


def test_no_incremental_volume_has_no_cost_per_unit():
    shrinking = [CustomerFigures(units_now=Decimal("50"), units_before=Decimal("100"))]
    steady = [CustomerFigures(units_now=Decimal("100"), units_before=Decimal("100"))]
    m = effectiveness(shrinking, steady, RebateCost(accrued=Decimal("10.00")))
    assert m.incremental_units == Decimal("-50") and m.cost_per_incremental_unit is None


def test_the_api_answers_the_worked_example(book):
    response = client_for(book["finance"]).get("/api/v1/program-effectiveness/widgets-2026/", QUERY)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["cost"] == {"accrued": "150.00", "paid": "40.00", "forfeited": "10.00"}
    assert body["incremental_units"] == "140.0000" and body["cost_per_incremental_unit"] == "1.0700"
    assert body["comparison_group"]["retention"] == "50.0000"
    assert body["year_before_from"] == "2025-01" and len(body["formulas"]) >= 10


@pytest.mark.parametrize(("query", "field"), [
    ({"period_from": "2026-13"}, "period_from"),
    ({"period_from": "2026-03", "period_to": "2026-01"}, "period_to"),
    ({"period_from": "2025-01", "period_to": "2026-03"}, "period_to"),
])
def test_a_bad_period_is_a_400_naming_the_field(book, query, field):
    response = client_for(book["finance"]).get("/api/v1/program-effectiveness/widgets-2026/", query)
    assert response.status_code == 400
    assert field in {detail["field"] for detail in response.json()["details"]}


def test_an_unknown_program_is_a_404_and_the_erp_may_not_read_effectiveness(book):
    assert client_for(book["finance"]).get("/api/v1/program-effectiveness/nope/").status_code == 404
    assert client_for(book["erp"]).get("/api/v1/program-effectiveness/widgets-2026/").status_code == 403


def test_the_page_states_the_figures_the_comparison_group_and_every_formula(book, client):
    client.force_login(book["finance"])
    response = client.get(reverse("program-effectiveness", args=["widgets-2026"]), QUERY)
    assert response.status_code == 200
    page = response.content.decode()
    for figure in ("$150.00", "$40.00", "$10.00", "$1.07", "$0.1071", "50.0%", "-20.0%", "8.3 pts", "-5.1 pts",
                   "Comparison group:", "Contractors", "Fasteners", "<svg"):
        assert figure in page, figure
    assert "Customers of the same segments as the program" in page  # the formulas, in words
    assert "Customer A" not in page and "Customer X" not in page  # aggregates only


def test_the_page_refuses_a_bad_period_beside_the_field(book, client):
    client.force_login(book["finance"])
    response = client.get(reverse("program-effectiveness", args=["widgets-2026"]), {"period_from": "26-1"})
    assert response.status_code == 400 and "YYYY-MM" in response.content.decode()


def test_the_sheet_holds_the_page_figures(book, client):
    client.force_login(book["finance"])
    response = client.get(reverse("program-effectiveness-sheet", args=["widgets-2026"]), QUERY)
    assert response.status_code == 200
    import io

    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = {row[0]: row[1:] for row in sheet.iter_rows(values_only=True)}
    assert rows["Cost per incremental unit"][0] == "$1.07"
    assert rows["Retention"][:2] == ("100.0%", "50.0%")


def test_the_program_list_links_each_program(book, client):
    client.force_login(book["am_one"])
    page = client.get(reverse("programs")).content.decode()
    assert "2026 widgets program" in page and "Draft terms" not in page


def test_the_page_reads_in_as_many_queries_however_many_customers(book, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import AgreementFactory, CustomerFactory, SegmentFactory
    from tests.programs.book import buy

    client.force_login(book["finance"])
    url = reverse("program-effectiveness", args=["widgets-2026"])

    def count():
        with CaptureQueriesContext(connection) as seen:
            assert client.get(url, QUERY).status_code == 200
        return len(seen)

    before = count()
    focus = book["agreements"]["A"].products.get()
    for _ in range(5):
        more = CustomerFactory(segment=SegmentFactory(code="contractors"))
        AgreementFactory(customer=more, program=book["program"], products=[focus])
        buy(more, focus, datetime.date(2026, 2, 1), "10", "100.00")
    assert count() == before


def _sheet(client, query=QUERY):
    import io

    response = client.get(reverse("program-effectiveness-sheet", args=["widgets-2026"]), query)
    assert response.status_code == 200
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def test_every_formula_is_stated_in_its_sentence_on_the_page_in_the_sheet_and_in_the_api(book, client):
    from django.utils.html import escape

    from programs.effectiveness import FORMULAS

    client.force_login(book["finance"])
    page = client.get(reverse("program-effectiveness", args=["widgets-2026"]), QUERY).content.decode()
    cells = {cell for row in _sheet(client) for cell in row if cell}
    api = client_for(book["finance"]).get("/api/v1/program-effectiveness/widgets-2026/", QUERY).json()
    assert [(f["name"], f["words"]) for f in api["formulas"]] == list(FORMULAS)
    for name, words in FORMULAS:
        assert f"<dt>{escape(name)}</dt><dd>{escape(words)}</dd>" in page, name
        assert words in cells, name


def test_the_api_and_the_sheet_hold_every_figure_of_the_worked_example(book, client):
    body = client_for(book["finance"]).get("/api/v1/program-effectiveness/widgets-2026/", QUERY).json()
    ours, theirs = body["program_customers"], body["comparison_group"]
    assert (ours["customers"], theirs["customers"]) == (2, 3)
    assert (body["segments"], body["focus_lines"]) == (["Contractors"], ["Fasteners"])
    assert [Decimal(ours[k]) for k in ("units_now", "units_before", "revenue_now", "revenue_before",
                                       "units_growth")] == [300, 200, Decimal("3000.00"), Decimal("2000.00"), 50]
    assert Decimal(theirs["units_growth"]) == Decimal("-20.0")
    assert (Decimal(body["expected_units"]), Decimal(body["expected_revenue"]),
            Decimal(body["incremental_revenue"])) == (160, Decimal("1600.00"), Decimal("1400.00"))
    assert Decimal(body["cost_per_incremental_dollar"]) == Decimal("0.1071")
    assert (ours["kept"], ours["lost"], Decimal(ours["retention"])) == (2, 0, 100)
    assert (theirs["kept"], theirs["lost"]) == (1, 1)
    assert [Decimal(ours[k]) for k in ("focus_share_now", "focus_share_before", "mix_shift")] == [
        Decimal("75.0"), Decimal("66.7"), Decimal("8.3")]
    assert [Decimal(theirs[k]) for k in ("focus_share_now", "focus_share_before", "mix_shift")] == [
        Decimal("61.5"), Decimal("66.7"), Decimal("-5.1")]
    client.force_login(book["finance"])
    rows = {row[0]: row[1:3] for row in _sheet(client)}
    assert rows["Customers"] == ("2", "3") and rows["Segments"][0] == "Contractors"
    assert rows["Rebate accrued"][0] == "$150.00" and rows["Rebate paid"][0] == "$40.00"
    assert rows["Rebate forfeited"][0] == "$10.00"
    assert rows["Units growth"] == ("50.0%", "-20.0%")
    assert rows["Expected units"][0] == "160" and rows["Incremental units"][0] == "140"
    assert rows["Incremental net revenue"][0] == "$1,400.00"
    assert rows["Cost per incremental dollar"][0] == "$0.1071"
    assert rows["Mix shift"] == ("8.3 pts", "-5.1 pts")


def test_the_chart_draws_each_measure_for_both_groups(book, client):
    client.force_login(book["finance"])
    page = client.get(reverse("program-effectiveness", args=["widgets-2026"]), QUERY).content.decode()
    for title in ("Units growth, program customers: 50.0%", "Units growth, comparison group: -20.0%",
                  "Revenue growth, program customers: 50.0%", "Retention, program customers: 100.0%",
                  "Retention, comparison group: 50.0%", "Mix shift, program customers: 8.3 pts",
                  "Mix shift, comparison group: -5.1 pts"):
        assert f"<title>{title}</title>" in page, title


def test_an_account_manager_reads_their_own_customers_figures_through_the_api_the_page_and_the_sheet(book, client):
    body = client_for(book["am_one"]).get("/api/v1/program-effectiveness/widgets-2026/", QUERY).json()
    assert (body["program_customers"]["customers"], body["comparison_group"]["customers"]) == (1, 1)
    assert (Decimal(body["expected_units"]), Decimal(body["incremental_units"])) == (110, 70)
    assert body["cost"]["accrued"] == "90.00" and Decimal(body["cost_per_incremental_unit"]) == Decimal("1.29")
    client.force_login(book["am_one"])
    page = client.get(reverse("program-effectiveness", args=["widgets-2026"]), QUERY).content.decode()
    assert "Computed over your own customers only." in page
    assert "$90.00" in page and "$1.29" in page and "$150.00" not in page
    rows = {row[0]: row[1:3] for row in _sheet(client)}
    assert rows["Customers"] == ("1", "1") and rows["Rebate accrued"][0] == "$90.00"
