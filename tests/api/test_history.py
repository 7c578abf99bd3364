"""An agreement's, a settlement's and a customer's history from the audit records, and the runs that booked an
agreement's entries: through the API, newest first, only for what the user may see."""

import datetime
import json
from decimal import Decimal

import pytest

from rebates.models import AccrualRun, Settlement
from tests.api.conftest import client_for
from tests.factories import LedgerEntryFactory, PerUnitRuleFactory, second_finance_user


def post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def paid(users, scenario):
    """Each manager's agreement accrued by a run; the account manager's settlement approved and paid by finance,
    the other manager's customer renamed by the ERP."""
    run = AccrualRun.objects.create(trigger="api", as_of=datetime.date(2026, 3, 31))
    for agreement in (scenario["my_agreement"], scenario["their_agreement"]):
        PerUnitRuleFactory(agreement=agreement)
        for month in (1, 2, 3):
            LedgerEntryFactory(agreement=agreement, period=datetime.date(2026, month, 1), amount=Decimal("2.50"),
                               accrual_run=run)
    settlement = Settlement.objects.create(
        agreement=scenario["my_agreement"], period_start=datetime.date(2026, 1, 1),
        period_end=datetime.date(2026, 3, 1), accrued_total=Decimal("7.50"), amount=Decimal("7.50"))
    finance = client_for(users["finance"])
    approver = client_for(second_finance_user())  # four eyes: the approver does not pay
    assert post(approver, f"/api/v1/settlements/{settlement.pk}/approve/").status_code == 200
    assert post(finance, f"/api/v1/settlements/{settlement.pk}/pay/",
                {"payment_reference": "CN-1", "paid_on": "2026-04-10"}).status_code == 200
    erp = client_for(users["erp"])
    assert erp.patch("/api/v1/customers/C-B/", data=json.dumps({"name": "Renamed Ltd"}),
                     content_type="application/json").status_code == 200
    return {**scenario, "run": run, "settlement": settlement}


def test_a_settlements_history_says_who_approved_and_paid_it_newest_first(users, paid):
    body = client_for(users["finance"]).get(f"/api/v1/settlements/{paid['settlement'].pk}/history/").json()
    assert [(row["action"], row["username"], row["subject"]) for row in body["results"]] == [
        ("settlement.pay", "finance", "settlement"),
        ("settlement.approve", second_finance_user().username, "settlement")]
    assert body["count"] == 2
    assert body["results"][0]["who"] == users["finance"].get_full_name()


def test_an_agreements_history_holds_its_settlements_records(users, paid):
    manager = client_for(users["account_manager"])
    body = manager.get("/api/v1/agreements/AG-A/history/").json()
    assert [row["action"] for row in body["results"]] == ["settlement.pay", "settlement.approve"]
    assert {row["subject_id"] for row in body["results"]} == {str(paid["settlement"].pk)}


def test_a_customers_history_holds_its_own_records_and_no_one_elses(users, paid):
    finance = client_for(users["finance"])
    theirs = finance.get("/api/v1/customers/C-B/history/").json()
    assert [(row["action"], row["who"], row["subject"]) for row in theirs["results"]] == [
        ("customer.update", users["erp"].get_full_name(), "customer")]
    mine = finance.get("/api/v1/customers/C-A/history/").json()
    assert [row["action"] for row in mine["results"]] == ["settlement.pay", "settlement.approve"]


def test_history_pages_are_capped_by_page_size(users, paid):
    body = client_for(users["finance"]).get("/api/v1/customers/C-A/history/", {"page_size": 1}).json()
    assert body["count"] == 2 and len(body["results"]) == 1 and body["next"]


def test_another_managers_history_is_not_found(users, paid):
    manager = client_for(users["account_manager"])
    assert manager.get("/api/v1/customers/C-B/history/").status_code == 404
    assert manager.get("/api/v1/agreements/AG-B/history/").status_code == 404
    assert manager.get("/api/v1/agreements/AG-B/runs/").status_code == 404
    other = client_for(users["other_manager"])
    assert other.get(f"/api/v1/settlements/{paid['settlement'].pk}/history/").status_code == 404


def test_the_runs_that_booked_an_agreement_in_one_grouped_query(users, paid, django_assert_max_num_queries):
    manager = client_for(users["account_manager"])
    response = manager.get("/api/v1/agreements/AG-A/runs/")
    assert response.status_code == 200
    assert [(row["run"], row["as_of"], row["entries"], row["total"]) for row in response.json()] == [
        (paid["run"].pk, "2026-03-31", 3, "7.50")]
