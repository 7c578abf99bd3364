"""Unknown fields in a request body are a 400 naming each (nested ones by their path, purchase lines by
line); nothing is stored. A field the answer shows may be sent back only where the schema lists it as
read-only for the request; every request body is additionalProperties false. (test_access.py walks every
write with unknown fields.)"""

import datetime

from rest_framework.test import APIClient

from customers.models import AuditRecord, Customer
from rebates.models import PurchaseLine, RebateAgreement, RebateRule
from tests.api.conftest import client_for, line, send
from tests.factories import PerUnitRuleFactory, ProgramFactory


def fields(response):
    assert response.status_code == 400, response.content
    return [(detail["field"], detail["message"]) for detail in response.json()["details"]]


UNKNOWN = "Unknown field: this endpoint does not take it."


def test_an_unknown_field_on_create_is_named_beside_the_other_problems(erp, scenario):
    response = send(erp, "post", "/api/v1/customers/", {"code": "C-NEW", "nickname": "North", "status": "gone"})
    assert sorted(fields(response)) == [
        ("name", "This field is required."), ("nickname", UNKNOWN),
        ("status", '"gone" is not a valid choice.')]
    assert not Customer.objects.filter(code="C-NEW").exists()


def test_an_unknown_field_on_change_changes_nothing(erp, scenario):
    response = send(erp, "patch", "/api/v1/customers/C-A/", {"name": "Renamed", "colour": "blue"})
    assert fields(response) == [("colour", UNKNOWN)]
    assert Customer.objects.get(code="C-A").name != "Renamed"
    assert not AuditRecord.objects.filter(action="customer.update").exists()


def test_nested_unknown_fields_are_named_by_their_path(erp, scenario):
    ProgramFactory(code="p-1")
    response = send(erp, "post", "/api/v1/agreements/", {
        "number": "AG-NEW", "customer": "C-A", "program": "p-1", "start_month": "2026-01", "end_month": "2026-12",
        "rule": {"kind": "tiered", "rate_type": "percent", "tier_basis": "quantity", "tier_method": "retroactive",
                 "ceiling": "9", "bands": [{"threshold": "0", "rate": "1"}, {"threshold": "10", "rate": "2",
                                                                              "upto": "20"}]}})
    assert sorted(fields(response)) == [("rule.bands.1.upto", UNKNOWN), ("rule.ceiling", UNKNOWN)]
    assert not RebateAgreement.objects.filter(number="AG-NEW").exists()


def test_an_unknown_field_in_a_purchase_line_names_the_line(erp, scenario):
    response = send(erp, "post", "/api/v1/purchases/", [line("L1"), {**line("L2"), "discount": "5"}])
    assert response.status_code == 400
    assert response.json()["details"] == [{"line": 1, "erp_line_id": "L2", "field": "discount", "message": UNKNOWN}]
    assert PurchaseLine.objects.count() == 0


def test_the_other_writes_refuse_unknown_fields(users, scenario):
    finance = client_for(users["finance"])
    assert fields(send(finance, "post", "/api/v1/accrual-runs/", {"as_of": "2026-03-31", "fast": True})) == [
        ("fast", UNKNOWN)]
    assert fields(send(client_for(users["account_manager"]), "post", "/api/v1/price-claims/", {
        "customer": "C-A", "product": "W-1", "competitor": "Apex", "claimed_unit_price": "11.40",
        "reported_on": "2026-09-08", "channel": "call", "source_url": "x"})) == [("source_url", UNKNOWN)]
    assert fields(send(finance, "post", f"/api/v1/agreements/{scenario['my_agreement'].number}/terminate/",
                       {"terminated_on": "2026-06-30", "reason": "Left", "refund": True})) == [("refund", UNKNOWN)]
    assert RebateAgreement.objects.get(pk=scenario["my_agreement"].pk).status == "active"


def test_fields_the_answer_shows_may_be_sent_back_where_the_schema_says_read_only(erp, scenario):
    PerUnitRuleFactory(agreement=scenario["my_agreement"])
    shown = erp.get("/api/v1/customers/C-A/").json()
    response = send(erp, "put", "/api/v1/customers/C-A/", {**shown, "name": "Renamed", "segment": None,
                                                           "account_manager": "am.a"})
    assert response.status_code == 200, response.json()
    assert response.json()["name"] == "Renamed"
    agreement = erp.get("/api/v1/agreements/AG-A/").json()
    echoed = {key: value for key, value in agreement.items() if key not in ("status",)}
    response = send(erp, "patch", "/api/v1/agreements/AG-A/", {**echoed, "end_month": "2026-11"})
    assert response.status_code == 200, response.json()
    assert RebateAgreement.objects.get(number="AG-A").end_month == datetime.date(2026, 11, 1)
    assert RebateRule.objects.filter(agreement__number="AG-A").count() == 1
    # The read-only fields are ignored, not stored: created_at does not move.
    response = send(erp, "patch", "/api/v1/customers/C-A/", {"created_at": "2000-01-01T00:00:00Z"})
    assert response.status_code == 200
    assert response.json()["created_at"] == shown["created_at"]


def test_the_schema_says_which_fields_a_request_takes(db):
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    requests = {name: component for name, component in schema["components"]["schemas"].items()
                if name.endswith("Request")}
    assert requests
    for name, component in requests.items():
        assert component.get("additionalProperties") is False, name
    change = schema["components"]["schemas"]["PatchedCustomerChangeInRequest"]["properties"]
    # Value tier and risk are computed nightly: an echo of them is taken and ignored.
    assert {name for name, field in change.items() if field.get("readOnly")} == {"code", "created_at", "updated_at",
                                                                                 "value_tier", "risk_level"}
    line = schema["paths"]["/api/v1/purchases/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert line["oneOf"][0]["additionalProperties"] is False
