"""Each role's main path in real headless Chromium, on docs/product.md's seed scenario: the account manager logs
the seed customer's September claim and sees it corroborated; the pricing manager matches the signal and the
agreement's price history shows it; finance runs an accrual, approves and pays a settlement and downloads
the agreement's sheet. Screenshots of the main pages go to artifacts/screenshots/."""

import pytest

from pricing_signals.models import MarketSignal, PriceClaim
from rebates.models import AccrualRun, ContractPrice, LedgerEntry, Settlement
from tests.factories import PASSWORD, second_finance_user
from tests.pages import scenario

pytestmark = pytest.mark.django_db(transaction=True)


def test_account_manager_logs_the_september_claim_and_sees_it_corroborated(live_server, browser_page, sign_in,
                                                                            shot):
    scenario.build()
    page = browser_page
    sign_in(page, "am.north", PASSWORD)
    customers = page.locator("#customers").inner_text()
    assert "Harbor Fasteners" in customers and "Someone Else Ltd" not in customers
    shot(page, "dashboard-account-manager")

    page.click("text=Harbor Fasteners")
    page.wait_for_selector("h1:has-text('Harbor Fasteners')")
    assert page.locator("#agreements").inner_text().count("AG-SEED") == 2
    shot(page, "customer")

    page.click("text=AG-SEED-2026")
    page.wait_for_selector("#terms")
    assert "$0.25 a unit, paid annually." in page.locator("#terms").inner_text()
    assert page.locator("svg.chart rect.bar").count() >= 10
    assert page.locator("#at-stake").inner_text() == "$25.00"
    shot(page, "agreement")

    page.goto(f"{live_server.url}/customers/SEED-001/")
    page.click("main >> text=Log a claim")  # the customer page's button: the customer comes chosen
    page.wait_for_selector("#claim-form")
    assert page.locator("#id_customer").input_value() == "SEED-001"
    # A bad price first: the message stands next to the field and nothing is saved.
    page.select_option("#id_product", "FAS-101")
    page.fill("#id_competitor", "Apex Supply")
    page.fill("#id_claimed_unit_price", "eleven forty")
    page.fill("#id_reported_on", "2026-09-08")
    page.click("button:has-text('Save the claim')")
    assert "Give a price like 11.40." in page.locator("#field-claimed_unit_price .error").inner_text()
    assert not PriceClaim.objects.filter(reported_on="2026-09-08").exists()
    shot(page, "claim-form-error")

    page.fill("#id_claimed_unit_price", "11.40")
    page.select_option("#id_channel", "call")
    page.click("button:has-text('Save the claim')")
    page.wait_for_selector("#claim-status")
    assert page.locator("#claim-status").inner_text() == "Corroborated"
    verdict = page.locator("#verdict").inner_text()
    assert "Northgate Builders" in verdict and "1 customer of other account managers" in verdict
    assert "undercuts our net-net price of $11.85" in page.locator("#net-net").inner_text()
    assert "corroborated" in page.locator("#credibility").inner_text()
    shot(page, "claim-corroborated")


def test_pricing_manager_matches_the_signal_and_the_price_history_shows_it(live_server, browser_page, sign_in, shot):
    scenario.build(with_september_claim=True)
    signal = MarketSignal.objects.get()
    page = browser_page
    sign_in(page, "pricing", PASSWORD)
    assert f"#{signal.pk}" in page.locator("#open-signals").inner_text()
    shot(page, "dashboard-pricing-manager")

    page.click("nav >> text=Signals")
    page.wait_for_selector("svg.timeline")
    assert page.locator(".chart-wide svg.timeline rect.window").count() == 1
    assert page.locator(".chart-wide svg.timeline circle.claim").count() == 4  # June, and September's three
    shot(page, "signals")

    page.click(f"#signals >> text=#{signal.pk}")
    page.wait_for_selector("#decision-form")
    assert "AG-C-2001-2026" in page.locator("#exposure").inner_text()
    shot(page, "signal")
    page.check("input[name=decision][value=match]")
    page.fill("#id_match_price", "11.40")
    page.fill("#id_effective_from", "2026-11")
    page.check("input[name=agreements][value='AG-SEED-2026']")
    page.fill("#id_reason", "Three customers quoted Apex Supply at about $11.40")
    page.click("button:has-text('Record the decision')")
    page.wait_for_selector("#match-preview")  # a match is previewed first: nothing recorded yet
    assert "AG-SEED-2026" in page.locator("#match-preview").inner_text()
    shot(page, "signal-match-preview")
    page.click("button:has-text('Record the match')")
    page.wait_for_selector("#decision")
    assert page.locator("#signal-status").inner_text() == "Matched"

    with page.expect_download() as download:
        page.click("#evidence-csv")
    assert download.value.suggested_filename == f"market-signal-{signal.pk}-evidence.csv"

    page.click("#decision >> text=AG-SEED-2026")
    page.wait_for_selector("#price-history")
    history = page.locator("#price-history").inner_text()
    assert f"matched market signal #{signal.pk}" in history and "$11.40" in history
    assert ContractPrice.objects.filter(agreement__number="AG-SEED-2026", net_price="11.40").exists()
    shot(page, "agreement-after-match")


def test_finance_runs_an_accrual_approves_and_a_colleague_pays_a_settlement_and_downloads_the_sheet(
        live_server, browser_page, sign_in, shot, celery_worker_thread):
    scenario.build(accrue=False)
    page = browser_page
    sign_in(page, "finance", PASSWORD)
    page.click("nav >> text=Accrual runs")
    page.fill("#id_as_of", "2026-11-23")
    page.click("button:has-text('Start the run')")
    page.wait_for_selector(".progress")
    # The worker books the run; the page polls its progress and shows it finished.
    page.wait_for_selector("#run-status:has-text('Succeeded')", timeout=60_000)
    run = AccrualRun.objects.get()
    assert run.trigger == AccrualRun.Trigger.FINANCE and run.entries_count > 0
    shot(page, "accrual-run")

    # Closing the ended 2025 period follows the run on the worker too.
    page.click("nav >> text=Settlements")
    for _ in range(60):
        if page.locator("text=AG-SEED-2025").count():
            break
        page.wait_for_timeout(500)
        page.reload()
    row = page.locator("#settlements tr", has_text="AG-SEED-2025")
    assert "$30.00" in row.inner_text()
    shot(page, "settlements")
    row.locator("button:has-text('Approve')").click()
    row = page.locator("#settlements tr", has_text="AG-SEED-2025")
    row.locator(".status.approved").wait_for()
    # The approver is offered no Pay button: four eyes.
    assert row.locator("text=Pay").count() == 0
    # Four eyes: another finance user pays what this one approved.
    page.click("button:has-text('Sign out')")
    sign_in(page, second_finance_user().username, PASSWORD)
    page.click("nav >> text=Settlements")
    row = page.locator("#settlements tr", has_text="AG-SEED-2025")
    row.locator("text=Pay").click()
    page.wait_for_selector("#pay-form")
    page.click("button:has-text('Review the payment of $30.00')")
    assert "Give the credit note number" in page.locator("#field-payment_reference .error").inner_text()
    page.fill("#id_payment_reference", "CN-2026-0042")
    page.click("button:has-text('Review the payment of $30.00')")
    # Paying asks once more, with what was filled in; nothing is paid until it is confirmed.
    page.wait_for_selector("#pay-confirm")
    assert page.locator("#confirm-reference").inner_text() == "CN-2026-0042"
    assert Settlement.objects.get(agreement__number="AG-SEED-2025").status == Settlement.Status.APPROVED
    page.click("#pay-confirm-button")
    page.wait_for_selector("text=paid: $30.00")
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    assert settlement.status == Settlement.Status.PAID
    assert LedgerEntry.objects.get(settlement=settlement, kind="payout").amount == -30
    page.goto(f"{live_server.url}/")
    assert "$0.00" in page.locator("#finance").inner_text() or "approved settlements to pay" in page.content()
    shot(page, "dashboard-finance")

    page.goto(f"{live_server.url}/agreements/AG-SEED-2026/")
    with page.expect_download() as download:
        page.click("#download-sheet")
    assert download.value.suggested_filename.startswith("agreement-AG-SEED-2026-")
    with open(download.value.path(), "rb") as sheet:
        assert sheet.read(2) == b"PK"
