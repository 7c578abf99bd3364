"""Finance closes a month in real headless Chromium: locks October on the months page, sees a late credit note
for October booked into November with the month it concerns on the agreement page, and reopens October with
a reason, kept in the audit records."""

import datetime
from decimal import Decimal

import pytest

from customers.models import AuditRecord
from rebates.models import LedgerEntry, PeriodLock, PurchaseLine
from rebates.services import accrual_run_perform, accrual_run_start
from tests.factories import PASSWORD
from tests.pages import scenario

pytestmark = pytest.mark.django_db(transaction=True)

OCTOBER = datetime.date(2026, 10, 1)
NOVEMBER = datetime.date(2026, 11, 1)


def test_finance_locks_october_a_late_credit_note_lands_in_november_and_october_is_reopened(
        live_server, browser_page, sign_in, shot):
    built = scenario.build()
    page = browser_page
    sign_in(page, "finance", PASSWORD)

    page.click("nav >> text=Months")
    page.wait_for_selector("h1:has-text('Months')")
    page.click("#lock-2026-10")
    page.wait_for_selector(".messages >> text=2026-10 locked.")
    assert page.locator("#month-2026-10 .status").inner_text() == "locked"
    shot(page, "months-october-locked")
    lock = PeriodLock.objects.get(month=OCTOBER)
    assert lock.locked and lock.locked_by.username == "finance"

    # Two units of October returned, sent after the close; the nightly run books the difference.
    line = PurchaseLine.objects.filter(customer=built["seed"], month=OCTOBER).first()
    PurchaseLine.objects.create(erp_line_id="LATE-OCT-1", customer=built["seed"], product=built["product"],
                                month=OCTOBER, quantity=Decimal("-2"), unit_price=line.unit_price,
                                amount=Decimal("-2") * line.unit_price)
    accrual_run_perform(run_id=accrual_run_start(as_of=scenario.TODAY, trigger="command", queue=False).pk)
    late = LedgerEntry.objects.get(agreement__number="AG-SEED-2026", concerns=OCTOBER, kind="adjustment")
    assert (late.period, late.amount) == (NOVEMBER, Decimal("-0.50"))
    assert not LedgerEntry.objects.filter(period=OCTOBER, pk__gte=late.pk).exists()

    page.goto(f"{live_server.url}/agreements/AG-SEED-2026/")
    assert page.locator(".booked-later").first.inner_text() == "of which -$0.50 booked in 2026-11 (month locked)"
    shot(page, "agreement-late-difference-in-november")

    page.goto(f"{live_server.url}/months/")
    assert page.locator("#month-2026-11 td").nth(4).inner_text() == "1"  # one entry for a locked month
    page.fill("#reason-2026-10", "Credit note 4411 belongs in October")
    page.click("form[aria-label='Reopen 2026-10'] button")
    page.wait_for_selector(".messages >> text=2026-10 reopened.")
    assert page.locator("#month-2026-10 .status").inner_text() == "reopened"
    shot(page, "months-october-reopened")
    assert AuditRecord.objects.get(action="period.reopen").data["reason"] == "Credit note 4411 belongs in October"
