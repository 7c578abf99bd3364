"""Contract prices per product, through the API and the pages: a line scope prices each product of the line on
its own, a match changes only the signal's product and is previewed first, exposure and our average count
only agreements that actually price the product, and a later decision supersedes an earlier one.

The issue's case: matching FAS-101 at $11.40 set the whole Fasteners line of one customer from $21.56 to
$11.40 with no warning, and the average and exposure counted line scopes that never bought FAS-101."""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from pricing_signals.models import MarketSignal, SignalDecision
from pricing_signals.services import signals_detect
from rebates.models import ContractPrice
from tests.api.conftest import client_for
from tests.factories import (
    AgreementFactory,
    ContractPriceFactory,
    CustomerFactory,
    LineDiscountFactory,
    PerUnitRuleFactory,
    PriceClaimFactory,
    ProductFactory,
    ProductLineFactory,
    PurchaseLineFactory,
)

pytestmark = pytest.mark.django_db

NOVEMBER = date(2026, 11, 1)
DETECTED = date(2026, 9, 30)


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def fasteners(users):
    """The Fasteners line (FAS-101, FAS-202, FAS-303, list $24.00 each); C-1007's agreement covers the line:
    FAS-101 and FAS-202 stated at $21.56, the rest 10 % off list. C-1007 bought 100 FAS-101 a month from
    August to October. Three other customers report FAS-101 at $11.40 in September: a signal. Two more line
    scopes price by a 10 % discount only ($21.60): one bought FAS-101, one never did."""
    manager = users["account_manager"]
    line = ProductLineFactory(code="fasteners", name="Fasteners")
    bolt, nut, washer = (ProductFactory(sku=sku, product_line=line, list_price=Decimal("24.00"))
                         for sku in ("FAS-101", "FAS-202", "FAS-303"))
    customer = CustomerFactory(code="C-1007", name="Summit Builders", account_manager=manager)
    agreement = AgreementFactory(number="AG-LINE", customer=customer)
    agreement.product_lines.set([line])
    PerUnitRuleFactory(agreement=agreement)
    for product in (bolt, nut):
        ContractPriceFactory(agreement=agreement, product=product, net_price=Decimal("21.56"))
    LineDiscountFactory(agreement=agreement, product_line=line, discount_percent=Decimal("10"))
    for month in (8, 9, 10):
        PurchaseLineFactory(customer=customer, product=bolt, month=date(2026, month, 1), quantity=Decimal("100"),
                            unit_price=Decimal("21.56"))
    discounted = {}
    for code, bought in (("C-BOUGHT", True), ("C-NEVER", False)):
        other = CustomerFactory(code=code, account_manager=manager)
        made = AgreementFactory(number=f"AG-{code}", customer=other)
        made.product_lines.set([line])
        LineDiscountFactory(agreement=made, product_line=line, discount_percent=Decimal("10"))
        if bought:
            PurchaseLineFactory(customer=other, product=bolt, month=date(2026, 3, 1))
        discounted[code] = made
    for i, day in enumerate((8, 15, 22)):
        claimant = CustomerFactory(code=f"C-CLAIM-{i}", account_manager=manager)
        PriceClaimFactory(customer=claimant, product=bolt, claimed_price=Decimal("11.40"),
                          reported_on=date(2026, 9, day))
    signals_detect(as_of=DETECTED)
    return {"line": line, "bolt": bolt, "nut": nut, "washer": washer, "agreement": agreement,
            "signal": MarketSignal.objects.get(), "discounted": discounted}


def prices(client, number):
    body = client.get(f"/api/v1/agreements/{number}/").json()
    return [(p["product"], p["effective_from"], p["net_price"], p["reason"]) for p in body["prices"]]


def preview_url(signal):
    return f"/api/v1/market-signals/{signal.pk}/decision/preview/"


MATCH = {"match_price": "11.40", "effective_from": "2026-11", "agreements": ["AG-LINE"]}


def test_the_preview_shows_the_products_current_and_new_price_its_volume_and_a_warning_and_changes_nothing(
        users, fasteners):
    pricing = client_for(users["pricing_manager"])
    before = ContractPrice.objects.count()

    response = post(pricing, preview_url(fasteners["signal"]), MATCH)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["product"], body["match_price"], body["effective_from"]) == ("FAS-101", "11.4000", "2026-11")
    assert (body["warning_percent"], body["warnings"], body["problems"]) == ("20.00", 1, 0)
    assert body["agreements"] == [{
        "agreement": "AG-LINE", "customer": "C-1007", "current_price": "21.5600", "new_price": "11.4000",
        "change_percent": "-47.12", "monthly_volume": "100.000", "monthly_effect": "-1016.00",
        "warning": "The price of FAS-101 falls by 47.12%, more than 20%.", "problem": ""}]
    assert body["monthly_effect"] == "-1016.00"
    assert ContractPrice.objects.count() == before
    assert MarketSignal.objects.get().status == "open"


def test_the_preview_warns_only_above_the_stated_drop(users, fasteners, settings):
    settings.MATCH_DROP_WARNING_PERCENT = Decimal("50")
    body = post(client_for(users["pricing_manager"]), preview_url(fasteners["signal"]), MATCH).json()
    assert (body["warnings"], body["agreements"][0]["warning"]) == (0, "")


def test_the_preview_names_what_is_wrong(users, fasteners):
    pricing = client_for(users["pricing_manager"])
    url = preview_url(fasteners["signal"])

    elsewhere = AgreementFactory(number="AG-ELSEWHERE", products=[ProductFactory()])
    for body, field in (({**MATCH, "effective_from": "November"}, "effective_from"),
                        ({**MATCH, "match_price": "-1"}, "match_price"),
                        ({**MATCH, "agreements": [elsewhere.number]}, "agreements"),
                        ({**MATCH, "agreements": []}, "agreements")):
        response = post(pricing, url, body)
        assert response.status_code == 400, (body, response.json())
        assert field in json.dumps(response.json()["details"])
    # A month outside the term is shown as the reason the match would be refused.
    row = post(pricing, url, {**MATCH, "effective_from": "2027-02"}).json()["agreements"][0]
    assert row["problem"].startswith("2027-02 is outside the term")
    # Only a pricing manager asks for one.
    assert post(client_for(users["account_manager"]), url, MATCH).status_code == 403


def test_a_match_changes_only_the_signals_product_in_the_line_scoped_agreement(users, fasteners):
    pricing, erp = client_for(users["pricing_manager"]), client_for(users["erp"])
    before = prices(erp, "AG-LINE")

    response = post(pricing, f"/api/v1/market-signals/{fasteners['signal'].pk}/decision/",
                    {"decision": "match", **MATCH})

    assert response.status_code == 200, response.json()
    signal = fasteners["signal"]
    after = prices(erp, "AG-LINE")
    assert before == [("FAS-101", "2026-01-01", "21.5600", "contract start"),
                      ("FAS-202", "2026-01-01", "21.5600", "contract start")]
    assert after == before + [("FAS-101", "2026-11-01", "11.4000", f"matched market signal #{signal.pk}")]
    statement = client_for(users["finance"]).get("/api/v1/agreements/AG-LINE/statement/",
                                                 {"as_of": "2026-11-30"}).json()
    october = next(m for m in statement["months"] if m["month"] == "2026-10")
    assert october["product_prices"] == [{"product": "FAS-101", "units": "100.000", "net_price": "21.5600"}]
    assert october["net_price"] == "21.5600"
    # The other products keep their prices: FAS-202 stated, FAS-303 at 10 % off its $24.00 list price.
    from rebates.prices import product_prices

    agreement = fasteners["agreement"]
    assert product_prices([(agreement.pk, p.pk) for p in (fasteners["bolt"], fasteners["nut"], fasteners["washer"])],
                          on=NOVEMBER) == {(agreement.pk, fasteners["bolt"].pk): Decimal("11.4000"),
                                           (agreement.pk, fasteners["nut"].pk): Decimal("21.5600"),
                                           (agreement.pk, fasteners["washer"].pk): Decimal("21.6000")}


def test_exposure_and_our_average_count_no_line_scope_that_never_bought_or_priced_the_product(users, fasteners):
    signal = MarketSignal.objects.get()
    body = client_for(users["pricing_manager"]).get(f"/api/v1/market-signals/{signal.pk}/").json()

    assert {row["agreement"]: row["net_price"] for row in body["exposure"]} == {
        "AG-LINE": "21.5600", "AG-C-BOUGHT": "21.6000"}
    # (21.56 + 21.60) / 2: AG-C-NEVER prices FAS-101 only by its line's discount and never bought it.
    assert body["our_average_price"] == "21.5800"


def test_a_later_decision_supersedes_the_match_and_the_history_is_kept(users, fasteners):
    pricing = client_for(users["pricing_manager"])
    url = f"/api/v1/market-signals/{fasteners['signal'].pk}/decision/"
    assert post(pricing, url, {"decision": "match", **MATCH}).json()["status"] == "matched"

    response = post(pricing, url, {"decision": "hold", "reason": "Apex withdrew the offer."})

    assert response.status_code == 200 and response.json()["status"] == "held"
    assert response.json()["matched_agreements"] == []
    history = list(SignalDecision.objects.order_by("pk").values_list("decision", "superseded_by"))
    assert [decision for decision, _ in history] == ["match", "hold"]
    assert history[0][1] is not None and history[1][1] is None
    assert ContractPrice.objects.filter(reason__startswith="matched", product=fasteners["bolt"]).count() == 1


def test_the_signal_page_previews_a_match_before_recording_it(users, fasteners):
    client = Client()
    client.force_login(users["pricing_manager"])
    url = reverse("signal-detail", args=[fasteners["signal"].pk])
    terms = {"decision": "match", "match_price": "11.40", "effective_from": "2026-11", "agreements": ["AG-LINE"]}

    page = client.post(url, terms).content.decode()

    assert 'id="match-preview"' in page and "Record the match" in page
    assert "$21.56" in page and "-47.12%" in page and "falls by 47.12%, more than 20%" in page
    assert not ContractPrice.objects.filter(reason__startswith="matched").exists()
    # Terms changed after the preview are previewed again, not recorded.
    again = client.post(url, {**terms, "match_price": "11.50", "previewed": "11.40|2026-11|AG-LINE"})
    assert again.status_code == 200 and 'id="match-preview"' in again.content.decode()
    assert not ContractPrice.objects.filter(reason__startswith="matched").exists()

    recorded = client.post(url, {**terms, "previewed": "11.40|2026-11|AG-LINE"})

    assert recorded.status_code == 302
    assert list(ContractPrice.objects.filter(reason__startswith="matched").values_list(
        "agreement__number", "product__sku", "effective_from", "net_price")) == [
        ("AG-LINE", "FAS-101", NOVEMBER, Decimal("11.4000"))]
    agreement_page = client.get(reverse("agreement-detail", args=["AG-LINE"])).content.decode()
    assert "FAS-101" in agreement_page and "FAS-202" in agreement_page and 'id="line-discounts"' in agreement_page


def test_the_erp_prices_a_line_scope_per_product_and_by_discount(users, fasteners, erp):
    post(erp, "/api/v1/programs/", {"code": "p-1", "name": "Program 1"})
    body = {"number": "AG-NEW", "customer": "C-1007", "program": "p-1", "product_lines": ["fasteners"],
            "start_month": "2026-01", "end_month": "2026-12", "status": "active",
            "prices": [{"product": "FAS-101", "net_price": "20.00"}],
            "line_discounts": [{"product_line": "fasteners", "discount_percent": "12.5"}],
            "rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.25"}}

    response = post(erp, "/api/v1/agreements/", body)

    assert response.status_code == 201, response.json()
    assert [(p["product"], p["net_price"]) for p in response.json()["prices"]] == [("FAS-101", "20.0000")]
    assert [(d["product_line"], d["discount_percent"]) for d in response.json()["line_discounts"]] == [
        ("fasteners", "12.500")]
    # One price for a whole line is refused, as is a product out of scope.
    refused = post(erp, "/api/v1/agreements/", {**body, "number": "AG-ONE-PRICE", "prices": [],
                                                 "line_discounts": [], "net_price": "21.56"})
    assert refused.status_code == 400 and "net_price" in json.dumps(refused.json())
    other = ProductFactory(sku="OTHER-1")
    outside = post(erp, "/api/v1/agreements/", {**body, "number": "AG-OUT",
                                                "prices": [{"product": other.sku, "net_price": "1.00"}]})
    assert outside.status_code == 400 and "OTHER-1" in json.dumps(outside.json())
