"""GET /api/v1/ledger-entries/: the single entries of the append-only ledger, filtered, paged, read only,
through the one visibility rule (the URL-walking test of test_access.py checks another manager's)."""

import datetime
import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from rebates.models import AccrualRun, LedgerEntry, Settlement
from tests.api.conftest import client_for
from tests.factories import LedgerEntryFactory

URL = "/api/v1/ledger-entries/"


@pytest.fixture
def entries(scenario):
    run = AccrualRun.objects.create(trigger="api", as_of=datetime.date(2026, 3, 31))
    settlement = Settlement.objects.create(
        agreement=scenario["my_agreement"], period_start=datetime.date(2026, 1, 1),
        period_end=datetime.date(2026, 12, 1),
        amount=Decimal("2.50"), accrued_total=Decimal("2.50"))
    made = {}
    for agreement in (scenario["my_agreement"], scenario["their_agreement"]):
        for month in (1, 2, 3):
            made[(agreement.number, month)] = LedgerEntryFactory(
                agreement=agreement, period=datetime.date(2026, month, 1), quantity=Decimal("10"),
                eligible_amount=Decimal("121.00"), amount=Decimal("2.50"), accrual_run=run if month == 3 else None)
    made["payout"] = LedgerEntryFactory(agreement=scenario["my_agreement"], period=datetime.date(2026, 3, 1),
                                        kind=LedgerEntry.Kind.PAYOUT, quantity=0, eligible_amount=0,
                                        amount=Decimal("-2.50"), settlement=settlement)
    return {"run": run, "settlement": settlement, **made}


def numbers(response):
    assert response.status_code == 200, response.content
    return [(row["agreement"], row["month"], row["kind"]) for row in response.json()["results"]]


def test_an_entry_shows_its_figures_run_and_settlement(users, entries):
    body = client_for(users["finance"]).get(URL, {"agreement": "AG-A", "month_from": "2026-03"}).json()
    assert body["count"] == 2
    accrual, payout = body["results"]
    assert accrual == {"id": entries[("AG-A", 3)].pk, "agreement": "AG-A", "month": "2026-03", "concerns": "2026-03",
                       "kind": "accrual", "quantity": "10.000", "eligible_amount": "121.00", "amount": "2.50",
                       "run": entries["run"].pk, "settlement": None,
                       "booked_at": accrual["booked_at"]}
    assert accrual["booked_at"]
    assert (payout["kind"], payout["amount"], payout["run"], payout["settlement"]) == (
        "payout", "-2.50", None, entries["settlement"].pk)


def test_filters_by_agreement_customer_months_kind_and_run(users, entries):
    finance = client_for(users["finance"])
    assert len(numbers(finance.get(URL))) == 7
    assert {row[0] for row in numbers(finance.get(URL, {"customer": "C-B"}))} == {"AG-B"}
    assert numbers(finance.get(URL, {"agreement": "AG-B", "month_from": "2026-02", "month_to": "2026-02"})) == [
        ("AG-B", "2026-02", "accrual")]
    assert numbers(finance.get(URL, {"kind": "payout"})) == [("AG-A", "2026-03", "payout")]
    assert numbers(finance.get(URL, {"run": entries["run"].pk})) == [("AG-A", "2026-03", "accrual"),
                                                                     ("AG-B", "2026-03", "accrual")]


@pytest.mark.parametrize("query", [{"month_from": "2026-13"}, {"kind": "bonus"}, {"run": "x"}, {"run": "0"},
                                   {"run": str(2**63)}, {"customer": ""}])
def test_a_bad_filter_is_a_400_naming_it(users, entries, query):
    response = client_for(users["finance"]).get(URL, query)
    assert response.status_code == 400
    assert [detail["field"] for detail in response.json()["details"]] == list(query)


def test_pages_like_the_other_lists(users, entries):
    finance = client_for(users["finance"])
    first = finance.get(URL, {"page_size": 3}).json()
    second = finance.get(URL, {"page_size": 3, "page": 2}).json()
    assert first["count"] == 7 and len(first["results"]) == 3 and first["next"]
    assert not {row["id"] for row in first["results"]} & {row["id"] for row in second["results"]}
    assert finance.get(URL, {"page": 9}).status_code == 404


def test_an_account_manager_sees_only_their_customers_entries(users, entries):
    manager = client_for(users["account_manager"])
    assert {row[0] for row in numbers(manager.get(URL))} == {"AG-A"}
    assert numbers(manager.get(URL, {"agreement": "AG-B"})) == []
    assert manager.get(f"{URL}{entries[('AG-B', 1)].pk}/").status_code == 404


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_the_ledger_is_read_only(users, entries, method):
    administrator = client_for(users["administrator"])
    target = URL if method == "post" else f"{URL}{entries[('AG-A', 1)].pk}/"
    response = getattr(administrator, method)(target, data=json.dumps({"amount": "1.00"}),
                                              content_type="application/json")
    assert response.status_code == 405
    assert LedgerEntry.objects.filter(amount=Decimal("1.00")).count() == 0


def test_ledger_entries_are_in_the_schema_as_reads_only(db):
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert set(schema["paths"]["/api/v1/ledger-entries/"]) >= {"get"}
    assert not {"post", "put", "patch", "delete"} & set(schema["paths"]["/api/v1/ledger-entries/"])
    assert not {"post", "put", "patch", "delete"} & set(schema["paths"]["/api/v1/ledger-entries/{id}/"])
    parameters = {p["name"] for p in schema["paths"]["/api/v1/ledger-entries/"]["get"]["parameters"]}
    assert parameters >= {"agreement", "customer", "month_from", "month_to", "kind", "run", "page", "page_size"}
