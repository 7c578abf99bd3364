"""Currencies over REST: finance upserts the month's rates; a line in another currency than its customer's
converts at its month's rate, or is held with the reason until the rate comes; a corrected rate converts the
month's lines again; the agreements they count for are marked for the next run."""

import json
from datetime import date
from decimal import Decimal

import pytest

from customers.models import AuditRecord
from rebates.models import AccrualMark, ExchangeRate, HeldPurchaseLine, PurchaseLine
from tests.api.conftest import client_for, line

PURCHASES = "/api/v1/purchases/"
RATES = "/api/v1/exchange-rates/"


def post(client, url, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def finance(users):
    return client_for(users["finance"])


@pytest.fixture
def euro(scenario):
    """C-A buys in dollars (the default); its lines may come in euros."""
    assert scenario["mine"].currency == "USD"
    return scenario


def marked(agreement, month=date(2026, 3, 1)) -> bool:
    """The next run recomputes what the agreement's customer bought in the month (a purchase cell is marked)."""
    return AccrualMark.objects.filter(customer=agreement.customer, month=month).exists()


def test_finance_sends_a_rate_and_reads_it_back(finance, euro):
    response = post(finance, RATES, {"currency": "EUR", "to_currency": "USD", "month": "2026-03", "rate": "1.085"})
    assert response.status_code == 200, response.content
    assert response.json()["created"] == 1
    assert finance.get(RATES).json()["results"] == [
        {"currency": "EUR", "to_currency": "USD", "month": "2026-03", "rate": "1.0850000000",
         "updated_at": ExchangeRate.objects.get().updated_at.isoformat().replace("+00:00", "Z")}]


def test_a_rate_sent_again_is_upserted_not_duplicated(finance, euro):
    post(finance, RATES, {"currency": "EUR", "month": "2026-03", "rate": "1.085"})
    again = post(finance, RATES, {"currency": "EUR", "month": "2026-03", "rate": "1.0850"})
    assert again.json() | {"rates": None} == {"created": 0, "updated": 0, "unchanged": 1, "released": 0,
                                              "reconverted": 0, "rates": None}
    changed = post(finance, RATES, {"currency": "EUR", "month": "2026-03", "rate": "1.09"})
    assert changed.json()["updated"] == 1
    assert ExchangeRate.objects.get().rate == Decimal("1.09")


def test_bad_rates_are_a_400_naming_each_rate_and_field_and_nothing_is_stored(finance, euro):
    response = post(finance, RATES, [{"currency": "EUR", "month": "2026-03", "rate": "1.085"},
                                     {"currency": "XYZ", "month": "2026-13", "rate": "-1"}])
    assert response.status_code == 400
    problems = {(item["line"], item["field"]) for item in response.json()["details"]}
    assert problems == {(1, "currency"), (1, "month"), (1, "rate")}
    assert not ExchangeRate.objects.exists()


def test_a_rate_from_a_currency_to_itself_is_a_400(finance, euro):
    response = post(finance, RATES, {"currency": "USD", "to_currency": "USD", "month": "2026-03", "rate": "1"})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "to_currency"


def test_only_finance_writes_rates(users, euro):
    for role in ("account_manager", "pricing_manager", "erp"):
        response = post(client_for(users[role]), RATES, {"currency": "EUR", "month": "2026-03", "rate": "1.085"})
        assert response.status_code == 403, role
    assert not ExchangeRate.objects.exists()


def test_a_line_in_euros_converts_at_its_months_rate_half_up_to_the_cent(erp, finance, euro):
    post(finance, RATES, {"currency": "EUR", "month": "2026-03", "rate": "1.0855"})
    response = post(erp, PURCHASES, {**line(quantity="10", unit_price="12.10", amount="121.05"), "currency": "EUR"})
    assert response.status_code == 200, response.content
    body = erp.get(f"{PURCHASES}L1/").json()
    # 121.05 x 1.0855 = 131.399775 -> 131.40; 12.10 x 1.0855 = 13.13455 -> 13.1346
    assert (body["amount"], body["unit_price"], body["quantity"]) == ("131.40", "13.1346", "10.000")
    assert (body["currency"], body["amount_in_currency"], body["unit_price_in_currency"], body["exchange_rate"]) == (
        "EUR", "121.05", "12.1000", "1.0855000000")


def test_a_line_in_its_customers_currency_is_stored_as_sent(erp, euro):
    response = post(erp, PURCHASES, {**line(), "currency": "USD"})
    assert response.status_code == 200, response.content
    stored = PurchaseLine.objects.get()
    assert (stored.amount, stored.currency, stored.amount_in_currency) == (Decimal("121.00"), "", None)


def test_a_line_whose_month_has_no_rate_is_held_with_the_reason_not_stored(users, erp, euro):
    response = post(erp, PURCHASES, [line("L1"), {**line("L2", month="2026-04"), "currency": "EUR"}])
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["held"]) == (1, 1)
    assert body["held_lines"] == [{"erp_line_id": "L2", "reason": "No EUR rate to USD for 2026-04."}]
    assert list(PurchaseLine.objects.values_list("erp_line_id", flat=True)) == ["L1"]
    held = client_for(users["finance"]).get("/api/v1/held-purchases/").json()["results"]
    assert [(item["erp_line_id"], item["amount"], item["currency"], item["reason"]) for item in held] == [
        ("L2", "121.00", "EUR", "No EUR rate to USD for 2026-04.")]


def test_a_rate_in_a_neighbouring_month_is_not_used(erp, finance, euro):
    post(finance, RATES, [{"currency": "EUR", "month": "2026-02", "rate": "1.08"},
                          {"currency": "EUR", "month": "2026-04", "rate": "1.09"}])
    response = post(erp, PURCHASES, {**line(month="2026-03"), "currency": "EUR"})
    assert response.json()["held"] == 1
    assert not PurchaseLine.objects.exists()


def test_the_rate_arriving_stores_the_held_line_and_marks_its_agreement(erp, finance, euro):
    post(erp, PURCHASES, {**line(quantity="10", unit_price="10.00", amount="100.00"), "currency": "EUR"})
    AccrualMark.objects.all().delete()
    response = post(finance, RATES, {"currency": "EUR", "month": "2026-03", "rate": "1.1"})
    assert response.json()["released"] == 1
    stored = PurchaseLine.objects.get(erp_line_id="L1")
    assert (stored.amount, stored.unit_price, stored.exchange_rate) == (Decimal("110.00"), Decimal("11.0000"),
                                                                        Decimal("1.1"))
    assert not HeldPurchaseLine.objects.exists()
    assert marked(euro["my_agreement"])
    assert AuditRecord.objects.filter(action="exchange_rates.set").exists()


def test_a_corrected_rate_converts_the_months_lines_again_and_marks_the_agreement(erp, finance, euro):
    post(finance, RATES, {"currency": "EUR", "month": "2026-03", "rate": "1.1"})
    post(erp, PURCHASES, {**line(amount="100.00", unit_price="10.00"), "currency": "EUR"})
    AccrualMark.objects.all().delete()
    response = post(finance, RATES, {"currency": "EUR", "month": "2026-03", "rate": "1.2"})
    assert response.json()["reconverted"] == 1
    assert PurchaseLine.objects.get().amount == Decimal("120.00")
    assert marked(euro["my_agreement"])


def test_a_resend_of_a_held_line_replaces_it_and_twice_changes_nothing(erp, euro):
    body = [{**line(amount="100.00"), "currency": "EUR"}]
    post(erp, PURCHASES, body)
    again = post(erp, PURCHASES, [{**body[0], "amount": "90.00"}])
    assert again.json()["held"] == 1
    assert HeldPurchaseLine.objects.get().amount == Decimal("90.00")
    post(erp, PURCHASES, [{**body[0], "amount": "90.00"}])
    assert HeldPurchaseLine.objects.count() == 1 and not PurchaseLine.objects.exists()


def test_a_held_line_resent_in_the_customers_currency_is_stored_and_no_longer_held(erp, euro):
    post(erp, PURCHASES, {**line(), "currency": "EUR"})
    response = post(erp, PURCHASES, line())
    assert response.json()["created"] == 1 and response.json()["held"] == 0
    assert not HeldPurchaseLine.objects.exists()


def test_a_stored_line_resent_in_a_currency_without_a_rate_is_taken_out_and_held(erp, euro):
    post(erp, PURCHASES, line())
    AccrualMark.objects.all().delete()
    response = post(erp, PURCHASES, {**line(), "currency": "EUR"})
    assert response.json()["held"] == 1
    assert not PurchaseLine.objects.exists()
    assert marked(euro["my_agreement"])


def test_the_same_batch_with_the_same_key_answers_the_same_each_time(erp, euro):
    body = [{**line(), "currency": "EUR"}]
    first = post(erp, PURCHASES, body, HTTP_IDEMPOTENCY_KEY="k-1")
    second = post(erp, PURCHASES, body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.json() == second.json()
    assert HeldPurchaseLine.objects.count() == 1


def test_an_unknown_currency_is_a_400_naming_the_line_and_field(erp, euro):
    response = post(erp, PURCHASES, [line("L1"), {**line("L2"), "currency": "XYZ"}, {**line("L3"), "currency": "eur"}])
    assert response.status_code == 400
    assert [(item["line"], item["erp_line_id"], item["field"]) for item in response.json()["details"]] == [
        (1, "L2", "currency"), (2, "L3", "currency")]
    assert not PurchaseLine.objects.exists() and not HeldPurchaseLine.objects.exists()


def test_a_manager_sees_only_their_customers_held_lines(users, erp, euro):
    post(erp, PURCHASES, [{**line("L1"), "currency": "EUR"}, {**line("L2", customer="C-B"), "currency": "EUR"}])
    mine = client_for(users["account_manager"]).get("/api/v1/held-purchases/").json()["results"]
    assert [item["erp_line_id"] for item in mine] == ["L1"]


def test_a_line_in_euros_and_boxes_converts_both(erp, finance, euro):
    from rebates.models import ProductUnit

    ProductUnit.objects.create(product=euro["product"], code="box", base_quantity=Decimal(50))
    post(finance, RATES, {"currency": "EUR", "month": "2026-03", "rate": "1.1"})
    post(erp, PURCHASES, {**line(quantity="2", unit_price="10.00", amount="20.00"), "unit": "box", "currency": "EUR"})
    stored = PurchaseLine.objects.get()
    assert (stored.quantity, stored.unit_price, stored.amount) == (Decimal(100), Decimal("0.2200"), Decimal("22.00"))
    assert (stored.unit_price_in_unit, stored.unit_price_in_currency) == (Decimal("11.0000"), Decimal("10.0000"))
    assert stored.month == date(2026, 3, 1)


def test_a_customer_is_created_in_its_currency_and_shows_it(users, erp, euro):
    response = post(erp, "/api/v1/customers/", {"code": "C-EU", "name": "Euro GmbH", "currency": "EUR"})
    assert response.status_code == 201, response.content
    assert response.json()["currency"] == "EUR"
    assert erp.get("/api/v1/customers/C-A/").json()["currency"] == "USD"


def test_an_unknown_customer_currency_is_a_400_naming_the_field(erp, euro):
    response = post(erp, "/api/v1/customers/", {"code": "C-X", "name": "X", "currency": "XYZ"})
    assert response.status_code == 400
    assert "currency" in response.content.decode()


def test_a_customers_currency_cannot_change_once_it_has_agreements(erp, euro):
    response = erp.patch("/api/v1/customers/C-A/", data=json.dumps({"currency": "EUR"}),
                         content_type="application/json")
    assert response.status_code == 400
    assert "currency" in response.content.decode()
    euro["mine"].refresh_from_db()
    assert euro["mine"].currency == "USD"


def test_a_line_converts_into_its_customers_currency_whatever_the_default(erp, finance, euro):
    from tests.factories import AgreementFactory, CustomerFactory

    customer = CustomerFactory(code="C-EU", currency="EUR")
    AgreementFactory(number="AG-EU", customer=customer, products=[euro["product"]])
    post(finance, RATES, {"currency": "USD", "to_currency": "EUR", "month": "2026-03", "rate": "0.92"})
    post(erp, PURCHASES, [{**line("L1", customer="C-EU", amount="100.00"), "currency": "USD"},
                          {**line("L2", customer="C-EU", amount="50.00"), "currency": "EUR"}])
    amounts = dict(PurchaseLine.objects.values_list("erp_line_id", "amount"))
    assert amounts == {"L1": Decimal("92.00"), "L2": Decimal("50.00")}


def test_the_agreement_api_shows_its_customers_currency(erp, euro):
    assert erp.get("/api/v1/agreements/AG-A/").json()["currency"] == "USD"


def test_an_agreement_in_another_currency_than_its_customers_is_a_400(users, euro):
    admin = client_for(users["administrator"])
    body = {"number": "AG-X", "customer": "C-A", "program": euro["my_agreement"].program.code, "products": ["W-1"],
            "start_month": "2026-01", "end_month": "2026-12", "currency": "EUR",
            "rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.25"}}
    response = post(admin, "/api/v1/agreements/", body)
    assert response.status_code == 400
    assert [item["field"] for item in response.json()["details"]] == ["currency"]
    accepted = post(admin, "/api/v1/agreements/", {**body, "currency": "USD"})
    assert accepted.status_code == 201, accepted.content
    assert accepted.json()["currency"] == "USD"


def test_a_line_too_large_once_converted_is_a_400_naming_the_amount(erp, finance, euro):
    post(finance, RATES, {"currency": "EUR", "month": "2026-03", "rate": "9999999999"})
    response = post(erp, PURCHASES, {**line(amount="99999999999999.99"), "currency": "EUR"})
    assert response.status_code == 400
    assert [item["field"] for item in response.json()["details"]] == ["amount"]
    assert not PurchaseLine.objects.exists()


def test_an_agreement_changed_with_another_currency_is_a_400(users, euro):
    admin = client_for(users["administrator"])
    response = admin.patch("/api/v1/agreements/AG-A/", data=json.dumps({"currency": "EUR"}),
                           content_type="application/json")
    assert response.status_code == 400
    assert [item["field"] for item in response.json()["details"]] == ["currency"]
    same = admin.patch("/api/v1/agreements/AG-A/", data=json.dumps({"currency": "USD"}),
                       content_type="application/json")
    assert same.status_code == 200, same.content
