"""An account manager signs in in real headless Chromium and sees their dashboard."""

import pytest

from customers import roles
from tests.factories import PASSWORD, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_account_manager_signs_in_and_sees_their_customers(live_server, browser_page):
    manager = UserFactory(username="am.north", first_name="Nora", last_name="North", role=roles.ACCOUNT_MANAGER)
    CustomerFactory(account_manager=manager, name="Harbor Fasteners", code="SEED-001")
    CustomerFactory(name="Someone Else Ltd")
    page = browser_page

    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "am.north")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_selector("h1:has-text('Dashboard')")
    table = page.locator("#customers").inner_text()
    assert "Harbor Fasteners" in table
    assert "Someone Else Ltd" not in table
    assert page.locator("text=Nora North").first.is_visible()
    # The stylesheet is the app's own and it loaded: the top bar is styled dark.
    background = page.eval_on_selector(".topbar", "el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(29, 39, 51)"

    page.click("text=Harbor Fasteners")
    page.wait_for_selector("h1:has-text('Harbor Fasteners')")


def test_wrong_password_shows_a_message_next_to_the_form(live_server, browser_page):
    UserFactory(username="finance", role=roles.FINANCE)
    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "finance")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    alert = page.locator("[role=alert]")
    alert.wait_for()
    assert "correct username and password" in alert.inner_text()
