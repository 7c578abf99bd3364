"""Settlements at scale through the API: two approvers above the threshold (409s that say why), paying many
with a pattern or a number each (a resend answers the same), and the customer statement (yours only)."""

import datetime
import json
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest

from customers import roles
from rebates.models import LedgerEntry, Settlement
from tests.api.conftest import client_for
from tests.factories import LedgerEntryFactory, UserFactory, second_finance_user

D = Decimal


@pytest.fixture(autouse=True)
def threshold(settings):
    settings.SETTLEMENT_SECOND_APPROVAL_ABOVE = D("1000.00")


def post(client, url, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def _settlement(agreement, amount, month=1):
    period = datetime.date(2026, month, 1)
    LedgerEntryFactory(agreement=agreement, period=period, amount=D(amount))
    return Settlement.objects.create(agreement=agreement, period_start=period, period_end=period, interim=True,
                                     accrued_total=D(amount), amount=D(amount))


@pytest.fixture
def third_finance_user(db):
    return UserFactory(username="finance.third", role=roles.FINANCE)


def test_above_the_threshold_two_people_approve_and_a_third_pays(users, scenario, third_finance_user):
    s = _settlement(scenario["my_agreement"], "5000.00")
    first, second = client_for(users["finance"]), client_for(second_finance_user())
    answer = post(first, f"/api/v1/settlements/{s.pk}/approve/")
    assert answer.status_code == 200 and answer.json()["status"] == "approving"
    again = post(first, f"/api/v1/settlements/{s.pk}/approve/")
    assert again.status_code == 409 and "another person" in again.json()["message"]
    early = post(client_for(third_finance_user), f"/api/v1/settlements/{s.pk}/pay/", {"payment_reference": "CN-1"})
    assert early.status_code == 409 and "second approval" in early.json()["message"]
    answer = post(second, f"/api/v1/settlements/{s.pk}/approve/")
    body = answer.json()
    assert (body["status"], body["approved_by"], body["second_approved_by"]) == ("approved", "finance",
                                                                                  "finance.approver")
    for approver in (first, second):
        refused = post(approver, f"/api/v1/settlements/{s.pk}/pay/", {"payment_reference": "CN-1"})
        assert refused.status_code == 409 and "four eyes" in refused.json()["message"]
    paid = post(client_for(third_finance_user), f"/api/v1/settlements/{s.pk}/pay/", {"payment_reference": "CN-1"})
    assert paid.status_code == 200 and paid.json()["paid_by"] == "finance.third"


def test_approving_many_says_which_await_a_second_approval(users, scenario):
    small = _settlement(scenario["my_agreement"], "10.00", 1)
    large = _settlement(scenario["my_agreement"], "2000.00", 2)
    answer = post(client_for(users["finance"]), "/api/v1/settlements/approve/", {"ids": [small.pk, large.pk]})
    assert answer.json() == {"approved": [small.pk], "awaiting_second_approval": [large.pk],
                             "left_for_another_approver": [], "count": 2, "amount": "2010.00"}
    again = post(client_for(users["finance"]), "/api/v1/settlements/approve/", {"ids": [small.pk, large.pk]})
    assert again.json() == {"approved": [], "awaiting_second_approval": [], "left_for_another_approver": [large.pk],
                            "count": 0, "amount": "0.00"}
    second = post(client_for(second_finance_user()), "/api/v1/settlements/approve/", {"ids": [large.pk]})
    assert second.json()["approved"] == [large.pk]


@pytest.fixture
def approved_pair(users, scenario):
    approver = second_finance_user()
    pair = [_settlement(scenario["my_agreement"], "10.00", 1), _settlement(scenario["their_agreement"], "20.00", 2)]
    post(client_for(approver), "/api/v1/settlements/approve/", {"ids": [s.pk for s in pair]})
    return pair


def test_paying_many_by_a_pattern_and_sending_it_again(users, approved_pair):
    finance = client_for(users["finance"])
    ids = [s.pk for s in approved_pair]
    body = {"ids": list(reversed(ids)), "pattern": "CN-2027-{n:05d}", "start": 41, "paid_on": "2027-01-10"}
    answer = post(finance, "/api/v1/settlements/pay/", body)
    assert answer.status_code == 200
    assert answer.json() == {"paid": [
        {"id": ids[0], "agreement": "AG-A", "amount": "10.00", "payment_reference": "CN-2027-00041",
         "paid_on": "2027-01-10", "parts": []},
        {"id": ids[1], "agreement": "AG-B", "amount": "20.00", "payment_reference": "CN-2027-00042",
         "paid_on": "2027-01-10", "parts": []}], "count": 2, "amount": "30.00"}
    resent = post(finance, "/api/v1/settlements/pay/", body)
    assert (resent.status_code, resent.json()) == (200, answer.json())
    assert LedgerEntry.objects.filter(kind="payout").count() == 2


def test_paying_many_with_a_number_each(users, approved_pair):
    a, b = approved_pair
    answer = post(client_for(users["finance"]), "/api/v1/settlements/pay/",
                  {"payments": [{"id": b.pk, "payment_reference": "CN-B"}, {"id": a.pk, "payment_reference": "CN-A"}]})
    assert [(p["id"], p["payment_reference"]) for p in answer.json()["paid"]] == [(a.pk, "CN-A"), (b.pk, "CN-B")]


def test_a_pattern_reusing_a_credit_note_number_answers_409_naming_it(users, scenario, approved_pair):
    earlier = _settlement(scenario["my_agreement"], "5.00", 3)
    post(client_for(second_finance_user()), f"/api/v1/settlements/{earlier.pk}/approve/")
    post(client_for(users["finance"]), f"/api/v1/settlements/{earlier.pk}/pay/", {"payment_reference": "CN-2"})
    refused = post(client_for(users["finance"]), "/api/v1/settlements/pay/",
                   {"ids": [s.pk for s in approved_pair], "pattern": "CN-{n}"})
    assert refused.status_code == 409
    assert refused.json()["details"] == [{"field": "ids", "message": f"credit note CN-2 is already settlement "
                                                                     f"{earlier.pk}'s"}]
    assert Settlement.objects.filter(status="paid").count() == 1


def test_paying_many_refuses_what_the_payer_approved_with_409(users, approved_pair):
    refused = post(client_for(second_finance_user()), "/api/v1/settlements/pay/",
                   {"ids": [s.pk for s in approved_pair], "pattern": "CN-{n}"})
    assert refused.status_code == 409 and "four eyes" in refused.json()["message"]
    assert len(refused.json()["details"]) == 2 and not LedgerEntry.objects.filter(kind="payout").exists()


@pytest.mark.parametrize(("body", "field"), [
    ({"ids": [1]}, "payments"),
    ({"pattern": "CN-{n}"}, "payments"),
    ({"payments": []}, "payments"),
    ({"ids": [1], "pattern": "CN-{n}", "payments": [{"id": 1, "payment_reference": "X"}]}, "payments"),
    ({"ids": ["a"], "pattern": "CN-{n}"}, "ids"),
    ({"payments": [{"id": 1}]}, "payments"),
])
def test_a_bad_payment_request_answers_400_naming_the_field(users, approved_pair, body, field):
    answer = post(client_for(users["finance"]), "/api/v1/settlements/pay/", body)
    assert answer.status_code == 400
    assert any(detail["field"].startswith(field) for detail in answer.json()["details"]), answer.json()


def test_a_bad_pattern_answers_400_naming_it(users, approved_pair):
    answer = post(client_for(users["finance"]), "/api/v1/settlements/pay/",
                  {"ids": [s.pk for s in approved_pair], "pattern": "CN-{n}-{n}"})
    assert answer.status_code == 400 and answer.json()["details"][0]["field"] == "pattern"
    assert "one {n}" in answer.json()["message"]


def test_a_manager_cannot_pay_and_finance_cannot_name_a_settlement_that_does_not_exist(users, approved_pair):
    assert post(client_for(users["account_manager"]), "/api/v1/settlements/pay/",
                {"ids": [approved_pair[0].pk], "pattern": "CN-{n}"}).status_code == 403
    answer = post(client_for(users["finance"]), "/api/v1/settlements/pay/",
                  {"ids": [approved_pair[0].pk, 999999], "pattern": "CN-{n}"})
    assert answer.status_code == 400 and "999999" in answer.json()["message"]
    assert not Settlement.objects.filter(status="paid").exists()


def test_the_statement_downloads_for_your_settlement_and_404_for_anothers(users, scenario):
    mine = _settlement(scenario["my_agreement"], "7.50")
    theirs = _settlement(scenario["their_agreement"], "8.00")
    manager = client_for(users["account_manager"])
    shown = manager.get(f"/api/v1/settlements/{mine.pk}/").json()
    response = manager.get(shown["statement"])
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="statement-AG-A-2026-01-to-2026-01-interim.xlsx"' in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(BytesIO(response.content)).active
    assert [row[1].value for row in sheet.iter_rows() if row[0].value == "Agreement"] == ["AG-A"]
    assert manager.get(f"/api/v1/settlements/{theirs.pk}/statement.xlsx").status_code == 404


def test_the_pdf_statement_downloads_for_your_settlement_and_404_for_anothers(users, scenario):
    mine = _settlement(scenario["my_agreement"], "7.50")
    theirs = _settlement(scenario["their_agreement"], "8.00")
    manager = client_for(users["account_manager"])
    response = manager.get(manager.get(f"/api/v1/settlements/{mine.pk}/").json()["statement_pdf"])
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert 'filename="statement-AG-A-2026-01-to-2026-01-interim.pdf"' in response["Content-Disposition"]
    assert manager.get(f"/api/v1/settlements/{theirs.pk}/statement.pdf").status_code == 404
