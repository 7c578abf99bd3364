"""Keyboard only, in real headless Chromium: an account manager on a phone logs a claim (skip link, the folded
menu, a failed submit that puts focus on the error summary, its link to the field, Enter to save); a pricing
manager records a signal decision (a fieldset of radios chosen with the arrow keys, each agreement checkbox
with its own label) and reads the signals timeline claim by claim; charts keep readable labels on a phone;
a running accrual run shows one state; closing a signal asks first."""

import pytest

from pricing_signals.models import MarketSignal, PriceClaim
from rebates.models import AccrualRun
from tests.factories import PASSWORD
from tests.pages import scenario

pytestmark = pytest.mark.django_db(transaction=True)

FOCUSED = """() => { const e = document.activeElement;
    return {tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute("name"), value: e.value,
            text: (e.getAttribute("aria-label") || e.textContent || "").trim()}; }"""


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def wait_for_focus(page, element_id, *, timeout=5000):
    """Waits until the element `element_id` has the focus (the page's script gives it as the page opens, which
    can come a moment after the element is parsed); fails if it never does."""
    page.wait_for_function("id => document.activeElement && document.activeElement.id === id", arg=element_id,
                           timeout=timeout)
    assert focused(page)["id"] == element_id


def tab_to(page, selector, *, limit=150, key="Tab"):
    """Presses Tab until the element `selector` has the focus (as a keyboard user would); fails past `limit`."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{selector} never got the focus in {limit} presses of {key}")


def sign_in_by_keyboard(page, base_url, username):
    page.goto(f"{base_url}/accounts/login/")
    wait_for_focus(page, "id_username")  # the sign-in form opens on its first field
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_selector("h1:has-text('Dashboard')")
    # The heading is parsed before the page's script has run; what the script does (the folded menu, the
    # focus) is there once the page has loaded.
    page.wait_for_load_state("load")


def test_account_manager_logs_a_claim_on_a_phone_by_keyboard_only(live_server, browser_page, shot):
    scenario.build()
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 800})
    sign_in_by_keyboard(page, live_server.url, "am.north")

    # The skip link leads past the top bar; the menu is folded behind its button until opened.
    assert not page.locator("nav >> text=Log a claim").is_visible()
    page.keyboard.press("Tab")
    assert focused(page)["text"] == "Skip to the content"
    tab_to(page, "#menu-button")
    assert page.get_attribute("#menu-button", "aria-expanded") == "false"
    page.keyboard.press("Enter")
    assert page.get_attribute("#menu-button", "aria-expanded") == "true"
    tab_to(page, "nav a[href='/claims/new/']")
    page.keyboard.press("Enter")
    page.wait_for_selector("#claim-form")

    tab_to(page, "#id_customer")
    page.keyboard.type("Harbor")
    assert page.input_value("#id_customer") == "SEED-001"
    tab_to(page, "#id_product")
    page.keyboard.type("FAS")
    assert page.input_value("#id_product") == "FAS-101"
    page.keyboard.press("Tab")
    page.keyboard.type("Apex Supply")
    page.keyboard.press("Tab")
    page.keyboard.type("eleven forty")
    tab_to(page, "#id_reported_on")
    page.keyboard.type("09082026")  # Chromium's date field takes the digits in the locale's order (en-US)
    tab_to(page, "#claim-form button[type=submit]")
    page.keyboard.press("Enter")

    # The failed submit opens on the error summary, whose link puts the keyboard on the field.
    page.wait_for_selector("#error-summary")
    wait_for_focus(page, "error-summary")
    assert "Give a price like 11.40." in page.inner_text("#error-summary")
    assert not PriceClaim.objects.filter(reported_on="2026-09-08").exists()
    shot(page, "keyboard-claim-error")
    page.keyboard.press("Tab")
    assert "Claimed unit price" in focused(page)["text"]
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "id_claimed_unit_price"
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.type("11.40")
    page.keyboard.press("Enter")

    page.wait_for_selector("#claim-status")
    claim = PriceClaim.objects.get(reported_on="2026-09-08")
    assert (claim.customer.code, str(claim.claimed_price), claim.competitor.name) == ("SEED-001", "11.4000",
                                                                                      "Apex Supply")
    assert page.inner_text("#claim-status") == "Corroborated"
    shot(page, "keyboard-claim-saved")


def test_pricing_manager_records_a_hold_by_keyboard_only(live_server, browser_page, shot):
    scenario.build(with_september_claim=True)
    signal = MarketSignal.objects.get()
    page = browser_page
    sign_in_by_keyboard(page, live_server.url, "pricing")
    page.goto(f"{live_server.url}/signals/{signal.pk}/")

    # The radios and the agreements are groups with a legend; every option has a label of its own.
    assert page.inner_text("#field-decision legend") == "Decision"
    assert page.inner_text("#field-agreements legend") == "Agreements"
    options = page.evaluate("""() => [...document.querySelectorAll('#decision-form input[type=radio],'
        + '#decision-form input[type=checkbox]')].map(input => [input.id, input.labels.length,
        input.labels.length ? input.labels[0].textContent.trim() : ""])""")
    assert len(options) >= 5 and all(id_ and count == 1 and text for id_, count, text in options)
    assert page.locator("#decision-form label:has(input[type=checkbox] + input)").count() == 0

    # Nothing chosen: the summary has the focus and names the field.
    tab_to(page, "#decision-submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("#error-summary")
    wait_for_focus(page, "error-summary")
    assert "Choose match or hold." in page.inner_text("#error-summary")

    tab_to(page, "#decision-form input[name=decision]")
    page.keyboard.press("ArrowDown")  # the radio group: arrows move the choice, from match to hold
    assert focused(page) | {"text": ""} == {"tag": "input", "id": "id_decision_1", "name": "decision",
                                            "value": "hold", "text": ""}
    tab_to(page, "#id_reason")
    page.keyboard.type("Apex cannot ship before January")
    tab_to(page, "#decision-submit")
    page.keyboard.press("Enter")
    page.wait_for_selector("#decision")
    assert page.inner_text("#signal-status") == "Held"
    signal.refresh_from_db()
    assert (signal.decision, signal.decision_reason) == ("hold", "Apex cannot ship before January")
    shot(page, "keyboard-decision-held")


def test_the_signals_timeline_is_read_claim_by_claim_by_keyboard(live_server, browser_page, sign_in):
    scenario.build(with_september_claim=True)
    signal = MarketSignal.objects.get()
    page = browser_page
    sign_in(page, "pricing", PASSWORD)
    for width, drawing in ((1440, ".chart-wide"), (390, ".chart-narrow")):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/signals/")
        tab_to(page, f"{drawing} svg.timeline a")
        names = []
        while page.evaluate("(s) => document.activeElement.matches(s)", f"{drawing} svg.timeline a"):
            names.append(focused(page)["text"])
            page.keyboard.press("Tab")
        # The window, then June's claim and September's three (April's is before the range).
        assert names[0].startswith(f"Signal #{signal.pk} on FAS-101 (open)"), names
        assert [name.split(":")[0] for name in names[1:]] == [
            "Claim of SEED-001", "Claim of SEED-001", "Claim of C-1002", "Claim of C-1003"], names
        assert all("11.4" in name or "11.3" in name for name in names[1:]), names
        # No link inside a link: nothing focusable nests in another focusable element.
        assert page.locator(f"{drawing} svg.timeline a a, {drawing} svg.timeline a [tabindex]").count() == 0
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")  # back on the window
    page.keyboard.press("Enter")
    page.wait_for_selector(f"h1:has-text('Market signal #{signal.pk}')")


def test_the_agreement_chart_keeps_readable_labels_on_a_phone(live_server, browser_page, sign_in):
    scenario.build()
    page = browser_page
    sign_in(page, "am.north", PASSWORD)
    labels = {}
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/agreements/AG-SEED-2026/")
        labels[width] = page.evaluate("""() => [...document.querySelectorAll('svg.chart text.month')]
            .filter(t => t.getBoundingClientRect().width > 0)
            .map(t => { const r = t.getBoundingClientRect(); return {text: t.textContent, left: r.left,
                        right: r.right, height: r.height}; })""")
    wide, narrow = labels[1440], labels[390]
    assert [label["text"] for label in wide] == [f"{month} 26" for month in (
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov")]  # accrued to November
    # On the phone: fewer ticks, the same size of text (at least 12 px tall as drawn), none overlapping.
    assert [label["text"] for label in narrow] == ["Jan 26", "Apr 26", "Jul 26", "Oct 26"]
    assert min(label["height"] for label in narrow) >= 12
    assert all(a["right"] < b["left"] for a, b in zip(narrow, narrow[1:], strict=False))


def test_a_running_accrual_run_shows_one_state_as_it_moves(live_server, browser_page, sign_in):
    scenario.build(accrue=False)
    run = AccrualRun.objects.create(trigger=AccrualRun.Trigger.FINANCE, as_of="2026-11-23")
    page = browser_page
    sign_in(page, "finance", PASSWORD)
    page.goto(f"{live_server.url}/accruals/runs/{run.pk}/")

    def shown():
        return {"badge": page.inner_text("#run-status"), "bar": page.inner_text(".progress .words"),
                "value": page.get_attribute(".progress .track", "aria-valuenow"),
                "chunks": page.inner_text("#run-chunks"), "started": page.inner_text("#run-started")}

    assert shown() == {"badge": "Queued", "bar": "0% done · Queued", "value": "0",
                       "chunks": "none yet: the run has not started", "started": "waiting for a worker"}
    # A worker takes it and books one chunk of two: the page follows without a reload, all of it at once.
    AccrualRun.objects.filter(pk=run.pk).update(status=AccrualRun.Status.RUNNING, chunks_total=2, chunks_done=1,
                                                started_at="2026-11-23T12:00:05Z")
    page.wait_for_selector("#run-status:has-text('Running')")
    assert shown() == {"badge": "Running", "bar": "50% done · Running", "value": "50", "chunks": "1 of 2",
                       "started": "2026-11-23 12:00:05"}
    assert page.get_attribute("#run-status", "class") == "status running"


def test_closing_a_signal_asks_first_and_works_by_keyboard(live_server, browser_page, sign_in):
    scenario.build(with_september_claim=True)
    signal = MarketSignal.objects.get()
    page = browser_page
    sign_in(page, "pricing", PASSWORD)
    page.goto(f"{live_server.url}/signals/{signal.pk}/")
    page.focus("#signal-close")
    page.keyboard.press("Enter")
    page.wait_for_selector("#close-confirm")
    wait_for_focus(page, "confirm-heading")
    assert MarketSignal.objects.get().status == MarketSignal.Status.OPEN  # asked, not closed
    tab_to(page, "#close-confirm-button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#signal-status:has-text('Closed')")
    assert MarketSignal.objects.get().status == MarketSignal.Status.CLOSED
