"""POST /api/v1/purchases/: one line or a list, upsert by erp_line_id, the whole batch or nothing (R11, R12)."""

import json

import pytest

from rebates.models import PurchaseLine
from tests.api.conftest import client_for, line

URL = "/api/v1/purchases/"


def post(client, body, **headers):
    return client.post(URL, data=json.dumps(body), content_type="application/json", **headers)


def test_one_line_is_stored_and_counted(erp, scenario):
    response = post(erp, line())
    assert response.status_code == 200
    assert response.json() | {"batch": None} == {"created": 1, "updated": 0, "unchanged": 0, "unmatched": 0,
                                                 "unmatched_lines": [], "held": 0, "held_lines": [],
                                                 "batch": None}
    assert PurchaseLine.objects.get(erp_line_id="L1").customer == scenario["mine"]


def test_a_list_answers_created_updated_unchanged_and_unmatched(erp, scenario):
    post(erp, [line("L1"), line("L2")])
    response = post(erp, [line("L1"), line("L2", quantity="9", amount="108.90"), line("L3", month="2027-05")])
    body = response.json()
    assert (body["created"], body["updated"], body["unchanged"], body["unmatched"]) == (1, 1, 1, 1)
    assert body["unmatched_lines"] == ["L3"]


def test_same_erp_line_id_in_two_batches_is_one_row(erp, scenario):
    post(erp, [line("L1")])
    post(erp, [line("L1", quantity="12", amount="145.20")])
    assert PurchaseLine.objects.filter(erp_line_id="L1").count() == 1


def test_one_bad_line_rejects_the_batch_naming_every_bad_line_and_field(erp, scenario):
    response = post(erp, [line("L1"), line("L2", customer="NOPE"), line("L3", quantity="1.2345", month="03/2026")])
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "nothing was stored" in body["message"]
    assert [(d["line"], d["erp_line_id"], d["field"]) for d in body["details"]] == [
        (1, "L2", "customer"), (2, "L3", "month"), (2, "L3", "quantity")]
    assert PurchaseLine.objects.count() == 0


def test_json_numbers_are_read_exactly(erp, scenario):
    body = '{"erp_line_id": "L1", "customer": "C-A", "product": "W-1", "month": "2026-03", ' \
           '"quantity": 3, "unit_price": 0.1, "amount": 0.30}'
    response = erp.post(URL, data=body, content_type="application/json")
    assert response.status_code == 200
    assert str(PurchaseLine.objects.get().unit_price) == "0.1000"


def test_more_than_ten_thousand_lines_are_refused(erp, scenario):
    response = post(erp, [line(f"L{i}") for i in range(10_001)])
    assert response.status_code == 400
    assert PurchaseLine.objects.count() == 0


@pytest.mark.parametrize("body", [[], "text", 12])
def test_a_body_that_is_not_lines_is_refused(erp, scenario, body):
    assert post(erp, body).status_code == 400


def test_lines_are_read_back_as_decimal_strings_and_months(erp, scenario):
    post(erp, [line("L1")])
    body = erp.get(URL).json()
    assert body["count"] == 1
    assert {k: body["results"][0][k] for k in ("erp_line_id", "customer", "product", "month", "quantity", "amount")} \
        == {"erp_line_id": "L1", "customer": "C-A", "product": "W-1", "month": "2026-03", "quantity": "10.000",
            "amount": "121.00"}


def test_account_manager_reads_only_their_customers_lines(users, erp, scenario):
    post(erp, [line("L1"), line("L2", customer="C-B")])
    manager = client_for(users["account_manager"])
    assert [row["erp_line_id"] for row in manager.get(URL).json()["results"]] == ["L1"]
    assert manager.get(URL + "L2/").status_code == 404
    assert manager.get(URL, {"customer": "C-B"}).json()["count"] == 0
