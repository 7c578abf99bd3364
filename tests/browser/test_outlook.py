"""An account manager's day, keyboard only, in real headless Chromium: the dashboard leads with what to do today,
a customer both due a contact and on the watchlist leads to the customer page (with why its risk is what it
is), and the contact is logged there; axe finds nothing serious on the way."""

import pytest

from customers.models import Contact
from outlook.services import outlook_refresh
from tests.browser.conftest import SERIOUS, axe_violations
from tests.browser.test_keyboard import sign_in_by_keyboard, tab_to, wait_for_focus
from tests.pages import scenario

pytestmark = pytest.mark.django_db(transaction=True)


def serious(page):
    return [v for v in axe_violations(page) if v["impact"] in SERIOUS]


def test_manager_follows_a_due_contact_from_the_dashboard_and_logs_it_by_keyboard(live_server, browser_page, shot):
    scenario.build(with_september_claim=True)
    outlook_refresh(as_of=scenario.TODAY)  # Harbor Fasteners: B, high risk, last contact its September claim
    page = browser_page
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_in_by_keyboard(page, live_server.url, "am.north")

    today = page.inner_text("#today")
    assert "What to do today" in today and "Harbor Fasteners" in today
    assert "Contact overdue by 46 days (last 2026-09-08)." in today  # every 30 days for B and high risk
    # On the watchlist too: its September claim undercuts its net-net.
    assert "1 competitor price claim below their net-net price in the last 90 days." in today
    assert serious(page) == []
    shot(page, "outlook-dashboard")

    tab_to(page, "#today-items a[href='/customers/SEED-001/']")
    page.keyboard.press("Enter")
    page.wait_for_selector("#why-risk")
    assert "An agreement's term ends on 2026-12-31, in 38 days." in page.inner_text("#why-risk")
    assert serious(page) == []

    tab_to(page, "#id_kind")
    page.keyboard.type("Visit")  # a closed select takes the option's first letters
    assert page.input_value("#id_kind") == "visit"
    tab_to(page, "#id_note")
    page.keyboard.type("Walked the warehouse; they are weighing Apex's offer.")
    tab_to(page, "#contact-form button[type=submit]")
    page.keyboard.press("Enter")

    page.wait_for_selector("#contact-rows >> text=Walked the warehouse")
    contact = Contact.objects.get()
    assert (contact.customer.code, contact.kind, contact.contacted_on, contact.manager.username) == (
        "SEED-001", "visit", scenario.TODAY, "am.north")
    assert "2026-12-23" in page.inner_text("#next-contact")  # the visit today, and 30 days
    assert serious(page) == []
    shot(page, "outlook-contact-logged")


def test_a_contact_without_its_kind_opens_on_the_error_summary(live_server, browser_page):
    scenario.build()
    page = browser_page
    sign_in_by_keyboard(page, live_server.url, "am.north")
    page.goto(f"{live_server.url}/customers/SEED-001/")
    tab_to(page, "#contact-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("#error-summary")
    wait_for_focus(page, "error-summary")
    assert "Say how you were in touch" in page.inner_text("#error-summary")
    assert serious(page) == []
    assert not Contact.objects.exists()
