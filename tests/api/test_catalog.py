"""Customers, products, programs and agreements: list, create, read, update, by their codes."""

import json

from config import clock
from customers.models import AuditRecord
from rebates.models import RebateAgreement, RebateRule
from tests.api.conftest import client_for, send
from tests.factories import PerUnitRuleFactory, ProductLineFactory, SegmentFactory


def test_customer_created_read_and_changed_by_code(erp, users):
    SegmentFactory(code="distribution")
    created = send(erp, "post", "/api/v1/customers/", {"code": "C-NEW", "name": "Northgate", "segment": "distribution",
                                                      "account_manager": "am.a"})
    assert created.status_code == 201, created.json()
    assert created.json()["account_manager"] == "am.a"
    changed = send(erp, "patch", "/api/v1/customers/C-NEW/", {"name": "Northgate Supply"})
    assert changed.status_code == 200 and changed.json()["name"] == "Northgate Supply"
    assert erp.get("/api/v1/customers/C-NEW/").json()["value_tier"] == "C"  # unvalued until the nightly outlook
    assert AuditRecord.objects.filter(action="customer.update").exists()


def test_the_erp_cannot_set_the_computed_value_tier(erp, users):
    # An echo of what it read is taken (and ignored); the tier stays the one the nightly outlook computed.
    created = send(erp, "post", "/api/v1/customers/", {"code": "C-TIER", "name": "Tiered", "value_tier": "A",
                                                      "risk_level": "low"})
    assert created.status_code == 201 and created.json()["value_tier"] == "C"
    changed = send(erp, "patch", "/api/v1/customers/C-TIER/", {"value_tier": "A", "risk_level": "high"})
    assert changed.status_code == 200
    assert changed.json()["value_tier"] == "C" and changed.json()["risk_level"] == "low"


def test_a_customer_code_used_twice_names_the_field(erp, scenario):
    response = send(erp, "post", "/api/v1/customers/", {"code": "C-A", "name": "Again"})
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["details"]] == ["code"]


def test_customers_list_is_paged_and_ordered(erp, scenario):
    body = erp.get("/api/v1/customers/", {"page_size": 1}).json()
    assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]


def test_product_and_program_by_sku_and_code(erp, db):
    ProductLineFactory(code="abrasives")
    product = send(erp, "post", "/api/v1/products/", {"sku": "SKU-9", "name": "Disc", "product_line": "abrasives",
                                                      "list_price": "14.5"})
    assert product.status_code == 201 and product.json()["list_price"] == "14.5000"
    assert send(erp, "patch", "/api/v1/products/SKU-9/", {"list_price": "15"}).json()["list_price"] == "15.0000"
    program = send(erp, "post", "/api/v1/programs/", {"code": "widgets-2026", "name": "Widgets 2026"})
    assert program.status_code == 201
    assert erp.get("/api/v1/programs/widgets-2026/").json()["name"] == "Widgets 2026"


AGREEMENT = {"number": "AG-NEW", "customer": "C-A", "program": "p-1", "products": ["W-1"], "start_month": "2026-01",
             "end_month": "2026-12", "committed_monthly_quantity": "10", "status": "active", "net_price": "12.10",
             "rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.25"}}


def test_agreement_created_with_rule_price_and_scope(erp, scenario):
    send(erp, "post", "/api/v1/programs/", {"code": "p-1", "name": "Program 1"})
    response = send(erp, "post", "/api/v1/agreements/", AGREEMENT)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["start_month"], body["end_month"], body["products"]) == ("2026-01", "2026-12", ["W-1"])
    assert body["rule"]["rate"] == "0.250000"
    assert body["prices"] == [{"product": "W-1", "effective_from": "2026-01-01", "net_price": "12.1000",
                               "reason": "Agreement created"}]
    assert body["line_discounts"] == []


def test_changing_the_rule_marks_the_agreement_for_the_next_run(erp, scenario):
    agreement = scenario["my_agreement"]
    PerUnitRuleFactory(agreement=agreement)
    RebateAgreement.objects.filter(pk=agreement.pk).update(terms_changed_at="2026-01-01T00:00:00Z")
    response = send(erp, "patch", "/api/v1/agreements/AG-A/", {"rule": {
        "kind": "tiered", "rate_type": "percent", "tier_basis": "quantity", "tier_method": "retroactive",
        "bands": [{"threshold": "0", "rate": "1"}, {"threshold": "1000", "rate": "2"}]}})
    assert response.status_code == 200, response.json()
    assert [b["rate"] for b in response.json()["rule"]["bands"]] == ["1.000000", "2.000000"]
    agreement.refresh_from_db()
    assert agreement.terms_changed_at.year > 2026 or agreement.terms_changed_at.month > 1
    assert RebateRule.objects.get(agreement=agreement).kind == "tiered"


def test_terms_the_engine_refuses_are_400_and_nothing_changes(erp, scenario):
    agreement = scenario["my_agreement"]
    PerUnitRuleFactory(agreement=agreement)
    response = send(erp, "patch", "/api/v1/agreements/AG-A/", {"rule": {"kind": "tiered", "rate_type": "percent",
                                                                       "tier_basis": "quantity",
                                                                       "tier_method": "retroactive", "bands": []}})
    assert response.status_code == 400
    assert RebateRule.objects.get(agreement=agreement).kind == "per_unit"


def test_an_agreement_cannot_be_terminated_by_a_status_change(erp, scenario):
    PerUnitRuleFactory(agreement=scenario["my_agreement"])
    response = send(erp, "patch", "/api/v1/agreements/AG-A/", {"status": "terminated"})
    assert response.status_code == 400


def test_account_manager_sees_only_their_agreements(users, scenario):
    manager = client_for(users["account_manager"])
    assert [a["number"] for a in manager.get("/api/v1/agreements/").json()["results"]] == ["AG-A"]
    assert manager.get("/api/v1/agreements/AG-B/").status_code == 404
    assert manager.get("/api/v1/customers/C-B/").status_code == 404
    assert manager.get("/api/v1/agreements/", {"customer": "C-B"}).json()["count"] == 0


def test_the_erp_does_not_overwrite_a_price_matched_to_a_signal_this_month(erp, scenario):
    from rebates.models import ContractPrice

    agreement = scenario["my_agreement"]
    PerUnitRuleFactory(agreement=agreement)
    month = max(clock.today().replace(day=1), agreement.start_month)
    product = agreement.products.get()
    ContractPrice.objects.create(agreement=agreement, product=product, effective_from=month, net_price="11.4000",
                                 reason="matched market signal #12")
    response = send(erp, "patch", "/api/v1/agreements/AG-A/", {"net_price": "11.90"})
    assert response.status_code == 400
    assert "net_price" in json.dumps(response.json())
    assert str(ContractPrice.objects.get(agreement=agreement, effective_from=month).net_price) == "11.4000"


def _price_steps(agreement):
    from rebates.models import ContractPrice

    return list(ContractPrice.objects.filter(agreement=agreement).order_by("effective_from")
                .values_list("effective_from", "net_price"))


def test_a_price_change_without_its_month_is_refused_naming_effective_from(erp, scenario):
    agreement = scenario["my_agreement"]
    before = _price_steps(agreement)
    response = send(erp, "patch", "/api/v1/agreements/AG-A/", {"net_price": "11.90"})
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["details"]] == ["effective_from"]
    assert _price_steps(agreement) == before


def test_a_price_change_after_the_term_is_refused_naming_effective_from(erp, scenario):
    agreement = scenario["my_agreement"]
    before = _price_steps(agreement)
    response = send(erp, "patch", "/api/v1/agreements/AG-A/", {"net_price": "11.90", "effective_from": "2027-02"})
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["details"]] == ["effective_from"]
    assert "2026-01 to 2026-12" in json.dumps(response.json())
    assert _price_steps(agreement) == before


def test_a_price_change_takes_effect_from_the_month_it_names(erp, scenario):
    import datetime
    from decimal import Decimal

    agreement = scenario["my_agreement"]
    PerUnitRuleFactory(agreement=agreement)
    response = send(erp, "patch", "/api/v1/agreements/AG-A/", {"net_price": "11.90", "effective_from": "2026-09"})
    assert response.status_code == 200, response.json()
    assert _price_steps(agreement)[-1] == (datetime.date(2026, 9, 1), Decimal("11.9000"))


def test_a_resent_agreement_with_its_prices_unchanged_needs_no_month(erp, scenario):
    agreement = scenario["my_agreement"]
    PerUnitRuleFactory(agreement=agreement)
    first = send(erp, "patch", "/api/v1/agreements/AG-A/", {"net_price": "11.90", "effective_from": "2026-01"})
    assert first.status_code == 200, first.json()
    before = _price_steps(agreement)
    response = send(erp, "patch", "/api/v1/agreements/AG-A/", {"net_price": "11.90"})
    assert response.status_code == 200, response.json()
    assert _price_steps(agreement) == before
