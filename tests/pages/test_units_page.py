"""The agreement page states the unit its rates and tiers count in, and shows lines sent in boxes beside
the base units; the statement API says the same."""

from decimal import Decimal

import pytest
from django.urls import reverse

from rebates.models import ProductUnit, PurchaseLine
from rebates.services import purchase_lines_ingest
from tests.pages.fixtures import html

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_boxes(scenario):
    product = scenario["agreements"]["seed"].products.get()
    ProductUnit.objects.create(product=product, code="box", base_quantity=Decimal(50))
    purchase_lines_ingest(lines=[{"erp_line_id": "BOX-1", "customer": "SEED-001", "product": product.sku,
                                  "month": "2026-10", "quantity": "2", "unit_price": "605.00",
                                  "amount": "1210.00", "unit": "box"}], source=PurchaseLine.Source.API)
    return scenario


def test_the_terms_say_the_unit_and_the_sheet_shows_boxes_beside_base_units(in_boxes, client_for):
    page = html(client_for(in_boxes["am"]).get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    assert "$0.25 a unit, paid annually." in page
    assert "Units are each: rates, tiers and minimums per each; a box is 50 each." in page
    assert "Units (each)" in page
    october = page[page.index("<td>2026-10</td>"):]
    october = october[:october.index("</tr>")]
    assert "FAS-101: 2 box = 100 each" in october


def test_the_statement_api_names_the_base_unit_and_the_units_sent(in_boxes):
    from tests.api.conftest import client_for

    body = client_for(in_boxes["am"]).get("/api/v1/agreements/AG-SEED-2026/statement/").json()
    assert body["base_unit"] == "each"
    october = next(month for month in body["months"] if month["month"] == "2026-10")
    assert october["units_sent"] == [{"product": "FAS-101", "unit": "box", "quantity_in_unit": "2.000",
                                      "units": "100.000"}]


def test_an_agreement_on_products_sold_only_in_each_says_nothing_of_units(scenario, client_for):
    page = html(client_for(scenario["am"]).get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    assert "Units are" not in page
