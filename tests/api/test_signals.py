"""Price claims (POST answers with the claim's status) and market signals with their decision."""

import datetime
import json
from decimal import Decimal

import pytest

from pricing_signals.models import MarketSignal, PriceClaim
from tests.api.conftest import client_for
from tests.factories import ContractPriceFactory, PerUnitRuleFactory, PriceClaimFactory

CLAIM = {"customer": "C-A", "product": "W-1", "competitor": "Apex Supply", "claimed_unit_price": "11.40",
         "reported_on": "2026-09-08", "channel": "call", "note": "Quoted on the phone"}


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_account_manager_records_a_claim_and_gets_its_status_and_net_net(users, scenario):
    PerUnitRuleFactory(agreement=scenario["my_agreement"])
    ContractPriceFactory(agreement=scenario["my_agreement"], net_price=Decimal("12.10"))
    response = post(client_for(users["account_manager"]), "/api/v1/price-claims/", CLAIM)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["customer"], body["claimed_unit_price"]) == ("pending", "C-A", "11.4000")
    assert body["net_net"]["agreement"] == "AG-A" and body["net_net"]["contract_price"] == "12.1000"
    assert body["credibility"] == {"corroborated": 0, "judged": 0, "percent": None}


def test_a_claim_for_someone_elses_customer_is_refused_as_unknown(users, scenario):
    response = post(client_for(users["account_manager"]), "/api/v1/price-claims/", {**CLAIM, "customer": "C-B"})
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["details"]] == ["customer"]
    assert PriceClaim.objects.count() == 0


def test_claims_are_listed_only_for_ones_own_customers(users, scenario):
    mine = PriceClaimFactory(customer=scenario["mine"], product=scenario["product"])
    theirs = PriceClaimFactory(customer=scenario["theirs"], product=scenario["product"])
    manager = client_for(users["account_manager"])
    assert [c["id"] for c in manager.get("/api/v1/price-claims/").json()["results"]] == [mine.pk]
    assert manager.get(f"/api/v1/price-claims/{theirs.pk}/").status_code == 404


@pytest.fixture
def signal(scenario):
    return MarketSignal.objects.create(product=scenario["product"], window_start=datetime.date(2026, 9, 1),
                                       window_end=datetime.date(2026, 9, 20), claim_count=3, customer_count=3,
                                       median_price=Decimal("11.40"))


def test_pricing_manager_holds_a_signal_with_a_reason(users, signal):
    pricing = client_for(users["pricing_manager"])
    assert post(pricing, f"/api/v1/market-signals/{signal.pk}/decision/", {"decision": "hold"}).status_code == 400
    response = post(pricing, f"/api/v1/market-signals/{signal.pk}/decision/",
                    {"decision": "hold", "reason": "One region only"})
    assert response.status_code == 200 and response.json()["status"] == "held"


def test_a_closed_signal_cannot_be_decided(users, signal):
    MarketSignal.objects.filter(pk=signal.pk).update(status="closed")
    response = post(client_for(users["pricing_manager"]), f"/api/v1/market-signals/{signal.pk}/decision/",
                    {"decision": "hold", "reason": "late"})
    assert response.status_code == 409


def test_signal_detail_shows_exposure_of_ones_own_customers_only(users, scenario, signal):
    for agreement in (scenario["my_agreement"], scenario["their_agreement"]):
        PerUnitRuleFactory(agreement=agreement)
        ContractPriceFactory(agreement=agreement, net_price=Decimal("12.10"))
    manager = client_for(users["account_manager"])
    body = manager.get(f"/api/v1/market-signals/{signal.pk}/").json()
    assert [row["agreement"] for row in body["exposure"]] == ["AG-A"]
    assert body["exposure_total"]["agreements"] == 1
    pricing = client_for(users["pricing_manager"])
    assert {row["agreement"] for row in pricing.get(f"/api/v1/market-signals/{signal.pk}/").json()["exposure"]} \
        == {"AG-A", "AG-B"}
