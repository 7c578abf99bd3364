"""The month close over REST: finance lists the months, locks one (201), is refused a second lock (409) and
a bad month (400 naming `month`), reopens with a reason (400 naming `reason` without one, 409 for an open
month); a late line for a locked month then shows in the first open month, with the month it concerns."""

import datetime
from decimal import Decimal

import pytest

from customers.models import AuditRecord
from rebates.models import LedgerEntry, PeriodLock
from rebates.services import accrual_run_perform, accrual_run_start
from tests.api.conftest import client_for
from tests.factories import AgreementFactory, PerUnitRuleFactory, ProductFactory, PurchaseLineFactory

pytestmark = pytest.mark.django_db


def _fields(response):
    return {detail["field"] for detail in response.json()["details"]}


def test_finance_locks_a_month_and_locking_it_again_is_a_conflict(users):
    client = client_for(users["finance"])
    response = client.post("/api/v1/period-locks/", {"month": "2026-10"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["state"] == "locked" and response.json()["locked_by"] == "finance"
    assert PeriodLock.objects.get().month == datetime.date(2026, 10, 1)
    again = client.post("/api/v1/period-locks/", {"month": "2026-10"}, format="json")
    assert again.status_code == 409
    assert AuditRecord.objects.filter(action="period.lock").count() == 1


@pytest.mark.parametrize("month", ["2026-13", "October", "", "2026-11", "2027-01"])
def test_a_bad_or_unfinished_month_is_a_400_naming_month(users, month):
    response = client_for(users["finance"]).post("/api/v1/period-locks/", {"month": month}, format="json")
    assert response.status_code == 400, response.content
    assert "month" in _fields(response)
    assert not PeriodLock.objects.exists()


def test_reopening_needs_a_reason_and_an_open_month_is_a_conflict(users):
    client = client_for(users["finance"])
    assert client.post("/api/v1/period-locks/2026-09/reopen/", {"reason": "late"}, format="json").status_code == 409
    client.post("/api/v1/period-locks/", {"month": "2026-09"}, format="json")
    missing = client.post("/api/v1/period-locks/2026-09/reopen/", {}, format="json")
    assert missing.status_code == 400 and "reason" in _fields(missing)
    blank = client.post("/api/v1/period-locks/2026-09/reopen/", {"reason": "   "}, format="json")
    assert blank.status_code == 400 and "reason" in _fields(blank)
    response = client.post("/api/v1/period-locks/2026-09/reopen/", {"reason": "Credit note 4411"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "reopened" and response.json()["reopen_reason"] == "Credit note 4411"
    assert AuditRecord.objects.get(action="period.reopen").data["reason"] == "Credit note 4411"


def test_the_list_shows_each_month_with_its_state_and_late_entries(users):
    product = ProductFactory(sku="API-LOCK")
    agreement = AgreementFactory(products=[product])
    PerUnitRuleFactory(agreement=agreement)
    for m in range(1, 11):
        PurchaseLineFactory(customer=agreement.customer, product=product, month=datetime.date(2026, m, 1),
                            quantity=Decimal("10"))
    as_of = datetime.date(2026, 10, 31)
    accrual_run_perform(run_id=accrual_run_start(as_of=as_of, trigger="command", queue=False).pk)
    client = client_for(users["finance"])
    client.post("/api/v1/period-locks/", {"month": "2026-09"}, format="json")
    PurchaseLineFactory(customer=agreement.customer, product=product, month=datetime.date(2026, 9, 1),
                        quantity=Decimal("-2"))
    accrual_run_perform(run_id=accrual_run_start(as_of=as_of, trigger="command", queue=False).pk)
    months = {row["month"]: row for row in client.get("/api/v1/period-locks/").json()}
    assert len(months) == 25 and list(months)[0] == "2026-11" and list(months)[-1] == "2024-11"
    assert months["2026-09"]["state"] == "locked" and months["2026-09"]["entries"] == 1
    assert months["2026-10"]["state"] == "open"
    assert (months["2026-10"]["entries"], months["2026-10"]["late_entries"], months["2026-10"]["booked"]) == (
        2, 1, "2.00")
    assert client.get("/api/v1/period-locks/2026-09/").json()["state"] == "locked"
    # The ledger entries say both months.
    late = client.get("/api/v1/ledger-entries/", {"agreement": agreement.number}).json()
    rows = late["results"] if isinstance(late, dict) else late
    assert {"month": "2026-10", "concerns": "2026-09", "amount": "-0.50"}.items() <= next(
        row for row in rows if row["kind"] == "adjustment").items()
    assert LedgerEntry.objects.filter(period=datetime.date(2026, 9, 1)).count() == 1


def test_an_account_manager_may_not_lock_a_month(users):
    response = client_for(users["account_manager"]).post("/api/v1/period-locks/", {"month": "2026-09"},
                                                         format="json")
    assert response.status_code == 403
    assert not PeriodLock.objects.exists()
