"""A database constraint a request breaks answers 400 naming its field(s) in plain words, never the
constraint's name nor an empty field: whether the model's validation catches it or the database itself."""


import pytest

from config.constraints import CONSTRAINT_PROBLEMS
from rebates.models import Product, RebateAgreement
from tests.api.conftest import send
from tests.factories import ProductLineFactory, ProgramFactory

AGREEMENT = {"number": "AG-NEW", "customer": "C-A", "program": "p-1", "products": ["W-1"], "start_month": "2026-06",
             "end_month": "2026-12", "status": "active",
             "rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.25"}}


def assert_named(response, *expected):
    assert response.status_code == 400, response.content
    body = response.json()
    assert [(d["field"], d["message"]) for d in body["details"]] == list(expected), body
    text = response.content.decode()
    assert not any(name in text for name in CONSTRAINT_PROBLEMS), text
    assert "Constraint" not in text
    return body


@pytest.fixture
def program(scenario):
    return ProgramFactory(code="p-1")


def test_an_agreement_ending_before_it_starts_names_end_month(erp, program):
    body = assert_named(send(erp, "post", "/api/v1/agreements/", {**AGREEMENT, "end_month": "2026-01"}),
                        ("end_month", "The term ends before it starts."))
    assert body["message"] == "end_month: The term ends before it starts."
    assert not RebateAgreement.objects.filter(number="AG-NEW").exists()


def test_changing_an_agreement_to_end_before_it_starts_names_end_month(erp, scenario):
    assert_named(send(erp, "patch", "/api/v1/agreements/AG-A/", {"start_month": "2027-06", "end_month": "2027-01"}),
                 ("end_month", "The term ends before it starts."))


def test_interim_payments_as_often_as_the_settlement_name_interim_frequency(erp, program):
    response = send(erp, "post", "/api/v1/agreements/",
                    {**AGREEMENT, "settlement_frequency": "quarterly", "interim_frequency": "quarterly"})
    assert_named(response, ("interim_frequency", "Interim payments must be more frequent than the settlement: "
                                                 "quarterly or monthly within an annual settlement, monthly within a "
                                                 "quarterly one."))


def test_a_rule_without_its_rate_names_the_rule_field(erp, program):
    response = send(erp, "post", "/api/v1/agreements/", {**AGREEMENT, "rule": {"kind": "per_unit"}})
    assert_named(response, ("rule.rate", "A per-unit, percent, growth, conditional, clearance, product mix or "
                                         "referral rule needs a rate of zero or more."))


def test_a_product_discontinued_before_its_launch_names_discontinued_on(erp, db):
    ProductLineFactory(code="abrasives")
    response = send(erp, "post", "/api/v1/products/", {"sku": "SKU-9", "name": "Disc", "product_line": "abrasives",
                                                       "list_price": "14.5", "launched_on": "2026-05-01",
                                                       "discontinued_on": "2026-04-30"})
    assert_named(response, ("discontinued_on", "The product is discontinued before its launch."))
    assert not Product.objects.filter(sku="SKU-9").exists()


def test_a_constraint_the_database_refuses_is_named_the_same_way(erp, program, monkeypatch):
    # As when the model's check is passed by (a race, a path that skips it): the database refuses the row.
    monkeypatch.setattr(RebateAgreement, "validate_constraints", lambda self, exclude=None: None)
    response = send(erp, "post", "/api/v1/agreements/", {**AGREEMENT, "end_month": "2026-01"})
    assert_named(response, ("end_month", "The term ends before it starts."))
    assert not RebateAgreement.objects.filter(number="AG-NEW").exists()
