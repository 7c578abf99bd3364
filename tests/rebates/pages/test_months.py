"""The months page and the admin: finance locks a month, is told when it is locked already, reopens it only
with a reason; the agreement page, its API statement and its Excel sheet then show a late difference in both
months: the one it concerns and the one it was booked in."""

import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from openpyxl import load_workbook

from customers import roles
from customers.models import AuditRecord
from rebates.models import PeriodLock
from rebates.services import accrual_run_perform, accrual_run_start
from rebates.services.period_lock import period_lock
from tests.api.conftest import client_for as api_client_for
from tests.factories import (
    AgreementFactory,
    ContractPriceFactory,
    PerUnitRuleFactory,
    ProductFactory,
    PurchaseLineFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = datetime.date(2026, 10, 31)


def month(m):
    return datetime.date(2026, m, 1)


@pytest.fixture
def finance():
    return UserFactory(username="months-finance", role=roles.FINANCE)


def accrue():
    accrual_run_perform(run_id=accrual_run_start(as_of=AS_OF, trigger="command", queue=False).pk)


def test_finance_sees_the_months_and_locks_one(client, finance):
    client.force_login(finance)
    page = client.get("/months/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="month-2026-10"' in text and 'id="lock-2026-09"' in text
    response = client.post("/months/", {"action": "lock", "month": "2026-09"})
    assert response.status_code == 302
    assert PeriodLock.objects.get(month=month(9)).locked_by == finance
    text = client.get("/months/").content.decode()
    assert "2026-09 locked." in text and 'aria-label="Reopen 2026-09"' in text


def test_locking_twice_is_a_409_and_a_month_not_ended_a_400_naming_it(client, finance):
    client.force_login(finance)
    client.post("/months/", {"action": "lock", "month": "2026-09"})
    again = client.post("/months/", {"action": "lock", "month": "2026-09"})
    assert again.status_code == 409 and "already locked" in again.content.decode()
    future = client.post("/months/", {"action": "lock", "month": "2026-11"})
    assert future.status_code == 400 and "month: 2026-11 has not ended yet" in future.content.decode()
    bad = client.post("/months/", {"action": "lock", "month": "September"})
    assert bad.status_code == 400 and "month:" in bad.content.decode()
    assert PeriodLock.objects.count() == 1


def test_reopening_on_the_page_needs_a_reason_and_is_audited(client, finance):
    client.force_login(finance)
    client.post("/months/", {"action": "lock", "month": "2026-09"})
    refused = client.post("/months/", {"action": "reopen", "month": "2026-09", "reason": ""})
    assert refused.status_code == 400 and "reason: Reopening a month needs a reason." in refused.content.decode()
    assert PeriodLock.objects.get().locked
    done = client.post("/months/", {"action": "reopen", "month": "2026-09", "reason": "Credit note 4411"})
    assert done.status_code == 302
    assert not PeriodLock.objects.get().locked
    assert AuditRecord.objects.get(action="period.reopen").actor == finance
    assert "Credit note 4411" in client.get("/months/").content.decode()


def test_an_account_manager_may_not_open_the_months_page(client):
    client.force_login(UserFactory(username="months-am", role=roles.ACCOUNT_MANAGER))
    assert client.get("/months/").status_code == 403
    assert client.post("/months/", {"action": "lock", "month": "2026-09"}).status_code == 403
    assert not PeriodLock.objects.exists()


def test_the_admin_locks_a_month_through_the_service_and_reopens_with_a_reason(client):
    root = get_user_model().objects.create_superuser("months-root", "root@example.com", "x-pass-2026")
    client.force_login(root)
    response = client.post("/admin/rebates/periodlock/add/", {"month": "2026-08"})
    assert response.status_code == 302, response.content.decode()[:2000]
    lock = PeriodLock.objects.get(month=month(8))
    assert AuditRecord.objects.filter(action="period.lock", target_id=str(lock.pk)).exists()
    twice = client.post("/admin/rebates/periodlock/add/", {"month": "2026-08"})
    assert twice.status_code == 200 and "already locked" in twice.content.decode()
    client.post("/admin/rebates/periodlock/", {"action": "reopen", "_selected_action": [lock.pk], "reason": ""})
    lock.refresh_from_db()
    assert lock.locked
    client.post("/admin/rebates/periodlock/", {"action": "reopen", "_selected_action": [lock.pk],
                                               "reason": "Restating August"})
    lock.refresh_from_db()
    assert not lock.locked and lock.reopen_reason == "Restating August"


@pytest.fixture
def late_difference(finance):
    """The seed agreement accrued January to October; August locked; two units of August returned later:
    -$0.50 for August booked in September, the first open month."""
    product = ProductFactory(sku="MONTHS-1")
    agreement = AgreementFactory(products=[product], number="AG-LOCKED")
    ContractPriceFactory(agreement=agreement, product=product)
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
    for m in range(1, 11):
        PurchaseLineFactory(customer=agreement.customer, product=product, month=month(m), quantity=D("10"))
    accrue()
    period_lock(month=month(8), by=finance, today=datetime.date(2026, 11, 23))
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(8), quantity=D("-2"))
    accrue()
    return agreement


def test_the_agreement_page_shows_a_late_difference_in_both_months(client, finance, late_difference):
    client.force_login(finance)
    text = client.get(f"/agreements/{late_difference.number}/").content.decode()
    assert "of which -$0.50 booked in 2026-09 (month locked)" in text


def test_the_api_statement_shows_both_months(finance, late_difference):
    body = api_client_for(finance).get(f"/api/v1/agreements/{late_difference.number}/statement/",
                                       {"as_of": "2026-10-31"}).json()
    months = {row["month"]: row for row in body["months"]}
    # August earned $2.00 (8 units); $-0.50 of it was booked in September, which shows its own $2.50.
    assert (months["2026-08"]["monthly_rebate"], months["2026-08"]["units"]) == ("2.00", "8.000")
    assert months["2026-08"]["booked_later"] == [{"month": "2026-09", "amount": "-0.50"}]
    assert months["2026-09"]["monthly_rebate"] == "2.50" and months["2026-09"]["booked_later"] == []


def test_the_excel_statement_shows_both_months(client, finance, late_difference):
    client.force_login(finance)
    response = client.get(f"/agreements/{late_difference.number}/sheet/")
    assert response.status_code == 200, response.status_code
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = {row[0].strftime("%Y-%m"): row for row in sheet.iter_rows(min_row=9, values_only=True)
            if isinstance(row[0], datetime.datetime)}
    assert rows["2026-08"][8] == "2026-09 (-0.50)"
    assert rows["2026-09"][8] is None
