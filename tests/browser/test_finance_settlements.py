"""Finance closes and settles in bulk in real headless Chromium, on docs/product.md's seed scenario: one finance
user locks October, approves every draft of the selection at once, a colleague pays them all with numbered
credit notes, opens a settlement's customer statement and downloads the month's GL journal with the payouts
on it."""

import datetime
from io import BytesIO

import openpyxl
import pytest

from rebates.models import LedgerEntry, PeriodLock, Settlement
from tests.browser.conftest import SERIOUS, axe_violations
from tests.factories import PASSWORD, second_finance_user
from tests.pages import scenario

pytestmark = pytest.mark.django_db(transaction=True)


def test_finance_locks_a_month_bulk_approves_a_colleague_bulk_pays_and_downloads_the_journal(
        live_server, browser_page, sign_in, shot):
    scenario.build()
    colleague = second_finance_user()  # once: each call sets the password again, which signs the user out
    drafts = list(Settlement.objects.filter(status="draft").order_by("pk"))
    assert drafts
    page = browser_page
    sign_in(page, "finance", PASSWORD)
    page.goto(f"{live_server.url}/months/")
    page.click("#lock-2026-10")
    page.wait_for_selector(".messages >> text=2026-10 locked.")
    assert PeriodLock.objects.get(month=datetime.date(2026, 10, 1)).locked_by.username == "finance"

    page.goto(f"{live_server.url}/settlements/?status=draft")
    page.click(f"#approve-selection button:has-text('Approve all {len(drafts)}')")
    page.wait_for_selector(f"text=Approved {len(drafts)} settlement")
    assert set(Settlement.objects.filter(pk__in=[s.pk for s in drafts]).values_list("status", flat=True)) == {
        "approved"}
    # The approver is offered nothing to pay: four eyes.
    page.goto(f"{live_server.url}/settlements/?status=approved")
    assert page.locator("#pay-selection").count() == 0
    shot(page, "settlements-approved")

    page.click("button:has-text('Sign out')")
    sign_in(page, colleague.username, PASSWORD)
    page.goto(f"{live_server.url}/settlements/?status=approved")
    page.click(f"#pay-selection a:has-text('Pay all {len(drafts)}')")
    page.wait_for_selector("#pay-many-form")
    assert [v for v in axe_violations(page) if v["impact"] in SERIOUS] == []
    page.fill("#id_pattern", "CN-2026-{n:05d}")
    page.fill("#id_start", "41")
    page.fill("#id_paid_on", "2026-11-23")
    shot(page, "settlements-pay-many")
    page.click("#pay-many-button")
    page.wait_for_selector(f"text=Paid {len(drafts)} settlement")
    paid = list(Settlement.objects.filter(pk__in=[s.pk for s in drafts]).order_by("pk"))
    assert [(s.status, s.payment_reference, s.paid_by.username) for s in paid] == [
        ("paid", f"CN-2026-{41 + i:05d}", colleague.username) for i in range(len(drafts))]
    seed = next(s for s in paid if s.agreement.number == "AG-SEED-2025")
    assert LedgerEntry.objects.get(settlement=seed, kind="payout").amount == -seed.amount

    # The customer statement that goes with the credit note.
    page.goto(f"{live_server.url}/settlements/{seed.pk}/")
    with page.expect_download() as download:
        page.click("#statement-xlsx")
    assert download.value.suggested_filename == "statement-AG-SEED-2025-2025-01-to-2025-12.xlsx"
    with open(download.value.path(), "rb") as statement:
        sheet = openpyxl.load_workbook(BytesIO(statement.read())).active
    facts = {row[0].value: row[1].value for row in sheet.iter_rows(max_row=12) if row[0].value}
    assert facts["Credit note"] == seed.payment_reference and facts["Agreement"] == "AG-SEED-2025"

    # The journal of the payouts' month shows them, and downloads.
    month = f"{seed.period_end:%Y-%m}"
    page.goto(f"{live_server.url}/journal/?month_from={month}&month_to={month}")
    assert "balanced" in page.locator("#journal-checks").inner_text()
    assert "Payout" in page.locator("#journal-lines").inner_text()
    shot(page, "journal")
    with page.expect_download() as download:
        page.click("#download-journal")
    assert download.value.suggested_filename.startswith(f"journal-{month}")
    with open(download.value.path(), "rb") as journal:
        rows = list(openpyxl.load_workbook(BytesIO(journal.read())).active.iter_rows(values_only=True))
    assert any("Payout" in str(cell) for row in rows for cell in row if cell)
