"""A what-if over a program whose customers buy in euros and in dollars: each customer's figures in its
currency, the totals per currency (page, sheet and API), never one sum of euros and dollars."""

import io

import openpyxl
import pytest
from django.urls import reverse

from customers.models import Customer
from programs.services import whatif_start
from rebates.exports.cells import money_format
from tests.api.conftest import client_for
from tests.programs.test_whatif import DRAFTS, Q1, REQUEST

pytestmark = pytest.mark.django_db

# Customer A buys in euros, B in dollars. Current: A 180 x 0.50, B 120 x 0.50; the drafts as in test_whatif.
EURO = {"current": "90.00", "drafts": ["54.00", "36.00", "100.00"]}
DOLLAR = {"current": "60.00", "drafts": ["36.00", "24.00", "0.00"]}


@pytest.fixture
def in_two_currencies(book):
    Customer.objects.filter(code="A").update(currency="EUR")
    return book


def test_the_replay_keeps_each_customers_currency_and_totals_per_currency(in_two_currencies):
    job = whatif_start(user=in_two_currencies["pricing"], program=in_two_currencies["program"], period=Q1,
                       drafts=DRAFTS)
    assert job.result["currencies"] == {"EUR": EURO, "USD": DOLLAR}
    assert {row["code"]: row["currency"] for row in job.result["customers"]} == {"A": "EUR", "B": "USD"}


def test_the_page_gives_each_customer_in_its_currency_and_the_totals_per_currency(in_two_currencies, client):
    job = whatif_start(user=in_two_currencies["pricing"], program=in_two_currencies["program"], period=Q1,
                       drafts=DRAFTS)
    client.force_login(in_two_currencies["pricing"])
    page = client.get(reverse("whatif-detail", args=[job.pk])).content.decode()
    rows = {code: row.split("</tr>")[0] for row in page.split("<tr>") for code in ("(A)", "(B)") if code in row}
    assert "€90.00" in rows["(A)"] and "€54.00" in rows["(A)"] and "$" not in rows["(A)"]
    assert "$60.00" in rows["(B)"] and "€" not in rows["(B)"]
    total = page[page.index('id="whatif-total"'):page.index("</tfoot>")]
    assert "€90.00 · $60.00" in total and "€54.00 · $36.00" in total and "150.00" not in total

    sheet = openpyxl.load_workbook(io.BytesIO(client.get(reverse("whatif-sheet", args=[job.pk])).content)).active
    header, *lines = [[cell for cell in row] for row in sheet.iter_rows()]
    assert header[-1].value == "Currency"
    by_first = [(line[0].value, line[3].value, line[-1].value) for line in lines]
    assert by_first == [("A", 90, "EUR"), ("B", 60, "USD"), ("Total", 90, "EUR"), ("Total", 60, "USD")]
    assert lines[0][3].number_format == money_format("EUR")


def test_the_api_gives_each_customers_currency_and_the_totals_per_currency(in_two_currencies):
    response = client_for(in_two_currencies["pricing"]).post("/api/v1/what-ifs/", REQUEST, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["totals"] == [{"currency": "EUR", **EURO}, {"currency": "USD", **DOLLAR}]
    assert {row["code"]: row["currency"] for row in body["customers"]} == {"A": "EUR", "B": "USD"}


def test_a_drafts_amounts_read_in_each_customers_currency(in_two_currencies, client):
    job = whatif_start(user=in_two_currencies["pricing"], program=in_two_currencies["program"], period=Q1,
                       drafts=DRAFTS)
    client.force_login(in_two_currencies["pricing"])
    page = client.get(reverse("whatif-detail", args=[job.pk])).content.decode()
    drafts = page[page.index("<h2>Drafts</h2>"):page.index("</ol>")]
    assert "EUR: €0.30 a unit; USD: $0.30 a unit" in drafts
    assert "2%" in drafts and "EUR: 2%" not in drafts  # a draft without an amount reads the same in both
    body = client_for(in_two_currencies["pricing"]).get(f"/api/v1/what-ifs/{job.pk}/").json()
    assert body["drafts"][0] == "EUR: €0.30 a unit; USD: $0.30 a unit"
    Customer.objects.update(currency="EUR")
    one = whatif_start(user=in_two_currencies["pricing"], program=in_two_currencies["program"], period=Q1,
                       drafts=DRAFTS)
    assert client_for(in_two_currencies["pricing"]).get(f"/api/v1/what-ifs/{one.pk}/").json()["drafts"][0] \
        == "€0.30 a unit"
