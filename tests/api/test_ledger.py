"""Accrual runs, accruals, statements, settlements (R17: paid once) and the accrual sheet export."""

import datetime
import json
import threading
from decimal import Decimal

import pytest
from django.db import connection

from rebates.models import AccrualRun, LedgerEntry, Settlement
from tests.api.conftest import client_for
from tests.factories import LedgerEntryFactory, PerUnitRuleFactory, second_finance_user


def post(client, url, body=None, **headers):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json", **headers)


def test_starting_a_run_answers_202_and_the_run_shows_its_progress(users, scenario, django_capture_on_commit_callbacks):
    finance = client_for(users["finance"])
    with django_capture_on_commit_callbacks() as queued:
        response = post(finance, "/api/v1/accrual-runs/", {"as_of": "2026-03-31"})
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], body["trigger"], body["as_of"], body["progress"]) == ("queued", "api", "2026-03-31", 0)
    assert len(queued) == 1
    AccrualRun.objects.filter(pk=body["id"]).update(status="running", chunks_total=4, chunks_done=1)
    shown = finance.get(f"/api/v1/accrual-runs/{body['id']}/").json()
    assert (shown["chunks_done"], shown["chunks_total"], shown["progress"]) == (1, 4, 25)


@pytest.fixture
def ledger(scenario):
    mine, theirs = scenario["my_agreement"], scenario["their_agreement"]
    for agreement in (mine, theirs):
        PerUnitRuleFactory(agreement=agreement)
        for month in (1, 2, 3):
            LedgerEntryFactory(agreement=agreement, period=datetime.date(2026, month, 1), quantity=Decimal("10"),
                               eligible_amount=Decimal("121.00"), amount=Decimal("2.50"))
    return scenario


def test_accruals_per_agreement_and_month_with_filters(users, ledger):
    finance = client_for(users["finance"])
    body = finance.get("/api/v1/accruals/", {"customer": "C-A", "month_from": "2026-02"}).json()
    assert [(row["agreement"], row["month"], row["accrued"], row["cumulative"]) for row in body["results"]] == [
        ("AG-A", "2026-02", "2.50", "5.00"), ("AG-A", "2026-03", "2.50", "7.50")]
    assert body["results"][0]["quantity"] == "10.000" and body["results"][0]["eligible_amount"] == "121.00"


def test_accrual_filters_are_checked(users, ledger):
    finance = client_for(users["finance"])
    response = finance.get("/api/v1/accruals/", {"month_from": "March"})
    assert response.status_code == 400 and response.json()["details"][0]["field"] == "month_from"


def test_account_manager_gets_no_foreign_accruals(users, ledger):
    manager = client_for(users["account_manager"])
    assert {row["agreement"] for row in manager.get("/api/v1/accruals/").json()["results"]} == {"AG-A"}
    # Another manager's agreement is named as unknown, exactly as one that does not exist.
    foreign = manager.get("/api/v1/accruals/", {"agreement": "AG-B"})
    missing = manager.get("/api/v1/accruals/", {"agreement": "AG-NONE"})
    assert (foreign.status_code, missing.status_code) == (400, 400)
    assert foreign.json() == missing.json()
    assert foreign.json()["details"] == [{"field": "agreement", "message": "No such agreement number among those you "
                                                                           "may see; pick one from the list."}]


@pytest.mark.parametrize(("field", "code"), [("customer", "C-TYPO"), ("agreement", "AG-TYPO"),
                                             ("program", "no-such-program"), ("manager", "nobody")])
def test_an_unknown_code_in_the_accrual_filters_answers_400_naming_it(users, ledger, field, code):
    response = client_for(users["finance"]).get("/api/v1/accruals/", {field: code})
    assert response.status_code == 400
    body = response.json()
    assert body["details"] == [{"field": field, "message": body["message"]}]
    assert body["message"].startswith("No such ") and code not in body["message"]


def test_statement_is_the_monthly_sheet_and_404_for_someone_elses(users, ledger):
    manager = client_for(users["account_manager"])
    response = manager.get("/api/v1/agreements/AG-A/statement/", {"as_of": "2026-03-31"})
    assert response.status_code == 200
    months = response.json()["months"]
    assert [(m["month"], m["monthly_rebate"], m["cumulative_rebate"]) for m in months] == [
        ("2026-01", "2.50", "2.50"), ("2026-02", "2.50", "5.00"), ("2026-03", "2.50", "7.50")]
    assert manager.get("/api/v1/agreements/AG-B/statement/").status_code == 404


def _settlement(agreement, status=Settlement.Status.DRAFT, approver=None):
    return Settlement.objects.create(agreement=agreement, period_start=datetime.date(2026, 1, 1),
                                     period_end=datetime.date(2026, 3, 1), accrued_total=Decimal("7.50"),
                                     amount=Decimal("7.50"), status=status, approved_by=approver)


def test_finance_approves_then_pays_a_settlement(users, ledger):
    settlement = _settlement(ledger["my_agreement"])
    finance = client_for(users["finance"])
    approved = post(client_for(second_finance_user()), f"/api/v1/settlements/{settlement.pk}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    paid = post(finance, f"/api/v1/settlements/{settlement.pk}/pay/", {"payment_reference": "CN-1"})
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert LedgerEntry.objects.get(kind="payout").amount == Decimal("-7.50")
    again = post(finance, f"/api/v1/settlements/{settlement.pk}/pay/", {"payment_reference": "CN-2"})
    assert again.status_code == 409 and again.json()["code"] == "conflict"
    assert post(finance, f"/api/v1/settlements/{settlement.pk}/approve/").status_code == 409


@pytest.mark.django_db(transaction=True)
def test_the_same_settlement_paid_ten_times_at_once_pays_once(users, ledger):
    settlement = _settlement(ledger["my_agreement"], Settlement.Status.APPROVED, second_finance_user())
    answers, start = [None] * 10, threading.Barrier(10)

    def pay(i):
        try:
            start.wait()
            answers[i] = post(client_for(users["finance"]), f"/api/v1/settlements/{settlement.pk}/pay/",
                              {"payment_reference": f"CN-{i}"})
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers) == [200] + [409] * 9
    assert LedgerEntry.objects.filter(kind="payout").count() == 1


def test_accrual_sheet_exports_as_xlsx(users, ledger):
    finance = client_for(users["finance"])
    response = finance.get("/api/v1/exports/accruals.xlsx", {"customer": "C-A"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response.content[:2] == b"PK"


def test_a_large_export_runs_in_the_background(users, ledger, settings):
    settings.EXCEL_EXPORT_INLINE_ROWS = 2
    finance = client_for(users["finance"])
    response = finance.get("/api/v1/exports/accruals.xlsx")
    assert response.status_code == 202
    job = response.json()
    assert job["status"] == "queued"
    assert finance.get(f"/api/v1/export-jobs/{job['id']}/").json()["id"] == job["id"]
    assert finance.get(f"/api/v1/export-jobs/{job['id']}/file/").status_code == 409
    # Exports are finance's: the ERP reads accruals through the API, not through export files.
    assert client_for(users["erp"]).get(f"/api/v1/export-jobs/{job['id']}/").status_code == 403


def test_the_api_refuses_a_payment_by_its_approver_with_409(users, ledger):
    settlement = _settlement(ledger["my_agreement"], Settlement.Status.APPROVED, users["finance"])
    refused = post(client_for(users["finance"]), f"/api/v1/settlements/{settlement.pk}/pay/",
                   {"payment_reference": "CN-1"})
    assert refused.status_code == 409 and "four eyes" in refused.json()["message"]
    assert not LedgerEntry.objects.filter(kind="payout").exists()


def test_finance_approves_many_settlements_at_once_and_sees_only_its_own_figures(users, ledger):
    drafts = [_settlement(ledger["my_agreement"]) for _ in range(1)]
    answer = post(client_for(users["finance"]), "/api/v1/settlements/approve/",
                  {"ids": [drafts[0].pk, 999999]})
    assert answer.status_code == 200
    assert answer.json() == {"approved": [drafts[0].pk], "awaiting_second_approval": [],
                             "left_for_another_approver": [], "count": 1, "amount": "7.50"}
    assert Settlement.objects.get(pk=drafts[0].pk).status == "approved"
    refused = post(client_for(users["finance"]), "/api/v1/settlements/approve/", {"ids": []})
    assert refused.status_code == 400
