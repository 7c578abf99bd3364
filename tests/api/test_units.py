"""Units over REST: products carry their base unit and units; lines name their unit; an unknown unit is a 400
naming the line and the field unit, nothing stored; a resend with the same key answers as the first time."""

import json
from decimal import Decimal

import pytest

from rebates.models import ProductUnit, PurchaseLine
from tests.api.conftest import line, send

URL = "/api/v1/purchases/"


@pytest.fixture
def units(scenario):
    ProductUnit.objects.create(product=scenario["product"], code="box", base_quantity=Decimal(50))
    ProductUnit.objects.create(product=scenario["product"], code="case", base_quantity=Decimal(600))
    return scenario


def post(client, body, **headers):
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


def test_a_product_shows_its_base_unit_and_units(erp, units):
    body = erp.get("/api/v1/products/W-1/").json()
    assert body["base_unit"] == "each"
    assert body["units"] == [{"code": "box", "base_quantity": "50.000000"},
                             {"code": "case", "base_quantity": "600.000000"}]


def test_a_product_is_created_with_its_units(users, erp, units):
    from tests.api.conftest import client_for

    admin = client_for(users["administrator"])
    response = send(admin, "post", "/api/v1/products/", {
        "sku": "P-9", "name": "Paper", "product_line": units["product"].product_line.code, "list_price": "3.00",
        "base_unit": "sheet", "units": [{"code": "ream", "base_quantity": "500"}]})
    assert response.status_code == 201, response.content
    assert response.json()["units"] == [{"code": "ream", "base_quantity": "500.000000"}]
    changed = send(admin, "patch", "/api/v1/products/P-9/", {"units": []})
    assert changed.status_code == 200 and changed.json()["units"] == []


def test_a_unit_named_as_the_base_unit_is_a_400(users, erp, units):
    from tests.api.conftest import client_for

    response = send(client_for(users["administrator"]), "patch", "/api/v1/products/W-1/",
                    {"units": [{"code": "each", "base_quantity": "1"}]})
    assert response.status_code == 400
    assert "units" in response.content.decode()


def test_a_line_in_boxes_is_stored_and_read_back_in_both_units(erp, units):
    response = post(erp, {**line(quantity="4", unit_price="12.10", amount="48.40"), "unit": "box"})
    assert response.status_code == 200, response.content
    body = erp.get(f"{URL}L1/").json()
    assert (body["quantity"], body["unit_price"], body["amount"]) == ("200.000", "0.2420", "48.40")
    assert (body["unit"], body["quantity_in_unit"], body["unit_price_in_unit"]) == ("box", "4.000", "12.1000")


def test_an_unknown_unit_is_a_400_naming_the_line_and_the_field(erp, units):
    response = post(erp, [{**line("L1"), "unit": "box"}, {**line("L2"), "unit": "pallet"}])
    assert response.status_code == 400
    assert [(d["line"], d["erp_line_id"], d["field"]) for d in response.json()["details"]] == [(1, "L2", "unit")]
    assert PurchaseLine.objects.count() == 0


def test_a_unit_that_is_not_text_is_a_400(erp, units):
    response = post(erp, {**line(), "unit": ["box"]})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "unit"


def test_a_resend_with_units_and_the_same_key_stores_once_and_answers_the_same(erp, units):
    batch = [{**line("L1", quantity="2"), "unit": "case"}, {**line("L2", quantity="3"), "unit": "box"}]
    first = post(erp, batch, HTTP_IDEMPOTENCY_KEY="units-1")
    again = post(erp, batch, HTTP_IDEMPOTENCY_KEY="units-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert first.json()["created"] == 2
    assert sorted(PurchaseLine.objects.values_list("quantity", flat=True)) == [Decimal(150), Decimal(1200)]
    # Without the key, the same lines are simply unchanged.
    assert post(erp, batch).json()["unchanged"] == 2
