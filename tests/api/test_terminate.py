"""Terminating an agreement through the API (docs/product.md, worked example 5): the customer leaves, its unpaid
rebate is forfeited once, by the roles that may (finance, pricing managers, administrators); marking a customer
lost terminates its active agreements as of the date given, in the same transaction."""

import datetime
import io
from decimal import Decimal

import pytest
from django.db.models import Sum
from openpyxl import load_workbook

from customers.models import AuditRecord, Customer
from rebates.models import LedgerEntry, RebateAgreement, Settlement
from rebates.services import accrual_run_perform, accrual_run_start
from tests.api.conftest import client_for, send
from tests.factories import AgreementFactory, PerUnitRuleFactory, PurchaseLineFactory

pytestmark = pytest.mark.django_db

D = Decimal
TERMINATE = "/api/v1/agreements/{}/terminate/"
LEFT_IN_JUNE = {"terminated_on": "2026-06-30", "reason": "Moved to a competitor"}


def forfeited(agreement):
    return -(LedgerEntry.objects.filter(agreement=agreement, kind="forfeiture").aggregate(t=Sum("amount"))["t"]
             or D("0"))


@pytest.fixture
def seeded(scenario):
    """The seed agreement (10 units a month at $0.25 a unit) on both managers' customers, booked to June."""
    for agreement in (scenario["my_agreement"], scenario["their_agreement"]):
        PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
        for month in range(1, 13):
            PurchaseLineFactory(customer=agreement.customer, product=scenario["product"],
                                month=datetime.date(2026, month, 1), quantity=D("10"))
    run = accrual_run_start(as_of=datetime.date(2026, 6, 30), trigger="finance", queue=False)
    accrual_run_perform(run_id=run.pk)
    return scenario


def test_finance_terminates_the_seed_agreement_and_its_15_dollars_are_forfeited(users, seeded):
    response = send(client_for(users["finance"]), "post", TERMINATE.format("AG-A"), LEFT_IN_JUNE)

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["terminated_on"], body["termination_reason"], body["forfeited"]) == \
        ("terminated", "2026-06-30", "Moved to a competitor", "15.00")
    agreement = RebateAgreement.objects.get(number="AG-A")
    assert forfeited(agreement) == D("15.00")
    assert LedgerEntry.objects.filter(agreement=agreement).aggregate(t=Sum("amount"))["t"] == D("0.00")
    audit = AuditRecord.objects.get(action="agreement.terminate")
    assert audit.actor == users["finance"] and audit.data["reason"] == "Moved to a competitor"


def test_terminating_twice_is_a_conflict_and_forfeits_once(users, seeded):
    finance = client_for(users["finance"])
    assert send(finance, "post", TERMINATE.format("AG-A"), LEFT_IN_JUNE).status_code == 200

    again = send(finance, "post", TERMINATE.format("AG-A"), {"terminated_on": "2026-07-31", "reason": "Again"})

    assert again.status_code == 409
    assert again.json()["code"] == "conflict" and "already terminated on 2026-06-30" in again.json()["message"]
    assert LedgerEntry.objects.filter(agreement__number="AG-A", kind="forfeiture").count() == 1
    assert RebateAgreement.objects.get(number="AG-A").terminated_on == datetime.date(2026, 6, 30)


@pytest.mark.parametrize(("role", "status"), [
    ("account_manager", 403), ("pricing_manager", 200), ("finance", 200), ("erp", 403), ("administrator", 200),
])
def test_role_matrix_for_terminating(users, seeded, role, status):
    response = send(client_for(users[role]), "post", TERMINATE.format("AG-A"), LEFT_IN_JUNE)
    assert response.status_code == status
    assert RebateAgreement.objects.get(number="AG-A").status == ("terminated" if status == 200 else "active")


def test_an_account_manager_never_terminates_another_managers_agreement(users, seeded):
    manager = client_for(users["account_manager"])
    # Their own agreement is found and the act refused; another manager's is not found at all.
    assert send(manager, "post", TERMINATE.format("AG-A"), LEFT_IN_JUNE).status_code == 403
    response = send(manager, "post", TERMINATE.format("AG-B"), LEFT_IN_JUNE)
    assert response.status_code == 404
    assert "AG-B" not in response.content.decode()
    assert RebateAgreement.objects.get(number="AG-B").status == "active"
    assert forfeited(RebateAgreement.objects.get(number="AG-B")) == D("0")


@pytest.mark.parametrize(("body", "field"), [
    ({"terminated_on": "2027-02-01", "reason": "Gone"}, "terminated_on"),  # after the term
    ({"terminated_on": "2026-06-30"}, "reason"),
    ({"terminated_on": "30/06/2026", "reason": "Gone"}, "terminated_on"),
])
def test_a_bad_termination_names_the_field_and_forfeits_nothing(users, seeded, body, field):
    response = send(client_for(users["finance"]), "post", TERMINATE.format("AG-A"), body)
    assert response.status_code == 400
    assert field in [detail["field"] for detail in response.json()["details"]]
    assert RebateAgreement.objects.get(number="AG-A").status == "active"
    assert forfeited(RebateAgreement.objects.get(number="AG-A")) == D("0")


def test_a_terminated_agreement_shows_its_forfeiture_in_accruals_and_the_finance_sheet(users, seeded):
    finance = client_for(users["finance"])
    send(finance, "post", TERMINATE.format("AG-A"), LEFT_IN_JUNE)

    rows = finance.get("/api/v1/accruals/", {"agreement": "AG-A"}).json()["results"]
    assert sum(D(row["forfeited"]) for row in rows) == D("15.00")
    assert sum(D(row["unpaid"]) for row in rows) == D("0.00")
    sheet = finance.get("/api/v1/exports/accruals.xlsx", {"agreement": "AG-A"})
    workbook = load_workbook(io.BytesIO(sheet.content), read_only=True)
    liability = [row for row in workbook["Liability"].iter_rows(values_only=True) if row and "C-A" in row]
    assert liability and D(str(liability[0][list(liability[0]).index("C-A") + 6])) == D("15.00")


def test_its_statement_promises_no_next_run(users, seeded):
    send(client_for(users["finance"]), "post", TERMINATE.format("AG-A"), LEFT_IN_JUNE)
    statement = client_for(users["finance"]).get("/api/v1/agreements/AG-A/statement/").json()
    assert statement["months"] and all(month["expected_rebate"] is None for month in statement["months"])
    assert statement["total_rebate"] == "15.00"


# --- a customer marked lost -----------------------------------------------------------------------------------


def test_marking_a_customer_lost_terminates_its_active_agreements_as_of_that_date(users, erp, seeded):
    ended = AgreementFactory(number="AG-A-2025", customer=seeded["mine"], start_month=datetime.date(2025, 1, 1),
                             end_month=datetime.date(2025, 12, 1))  # its term ended: it settles, not forfeits
    draft = AgreementFactory(number="AG-A-DRAFT", customer=seeded["mine"], status="draft")

    response = send(erp, "patch", "/api/v1/customers/C-A/", {"status": "lost", "lost_on": "2026-06-30"})

    assert response.status_code == 200, response.json()
    agreement = RebateAgreement.objects.get(number="AG-A")
    assert (agreement.status, agreement.terminated_on) == ("terminated", datetime.date(2026, 6, 30))
    assert "C-A lost on 2026-06-30" in agreement.termination_reason
    assert forfeited(agreement) == D("15.00")
    assert RebateAgreement.objects.get(pk=ended.pk).status == "active"
    assert RebateAgreement.objects.get(pk=draft.pk).status == "draft"
    assert RebateAgreement.objects.get(number="AG-B").status == "active"  # another customer's
    assert AuditRecord.objects.get(action="agreement.terminate").actor == users["erp"]


def test_a_customer_lost_without_a_date_is_refused_and_nothing_changes(erp, seeded):
    response = send(erp, "patch", "/api/v1/customers/C-A/", {"status": "lost"})

    assert response.status_code == 400
    assert [detail["field"] for detail in response.json()["details"]] == ["lost_on"]
    assert Customer.objects.get(code="C-A").status == "active"
    assert RebateAgreement.objects.get(number="AG-A").status == "active"


def test_a_customer_lost_twice_forfeits_once(erp, seeded):
    send(erp, "patch", "/api/v1/customers/C-A/", {"status": "lost", "lost_on": "2026-06-30"})
    again = send(erp, "patch", "/api/v1/customers/C-A/", {"name": "Renamed", "status": "lost",
                                                           "lost_on": "2026-06-30"})
    assert again.status_code == 200
    assert LedgerEntry.objects.filter(agreement__number="AG-A", kind="forfeiture").count() == 1


def test_losing_a_customer_forfeits_its_open_settlements(erp, seeded):
    agreement = RebateAgreement.objects.get(number="AG-A")
    draft = Settlement.objects.create(agreement=agreement, period_start=datetime.date(2026, 1, 1), interim=True,
                                      period_end=datetime.date(2026, 3, 1), accrued_total=D("7.50"),
                                      amount=D("7.50"))
    send(erp, "patch", "/api/v1/customers/C-A/", {"status": "lost", "lost_on": "2026-06-30"})
    draft.refresh_from_db()
    assert draft.status == "forfeited"
