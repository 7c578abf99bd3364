"""Sign-in, sign-out, the dashboard and the customer page, through the real middleware stack."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from customers import roles
from tests.factories import PASSWORD, AgreementFactory, CustomerFactory, LedgerEntryFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager():
    return UserFactory(username="am-north", role=roles.ACCOUNT_MANAGER)


@pytest.fixture
def other_manager():
    return UserFactory(username="am-south", role=roles.ACCOUNT_MANAGER)


def sign_in(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_dashboard_sends_anonymous_visitors_to_sign_in(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_sign_in_with_the_right_password_lands_on_the_dashboard(client, manager):
    response = sign_in(client, "am-north")
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_sign_in_with_a_wrong_password_says_so_and_stays_signed_out(client, manager):
    response = sign_in(client, "am-north", "wrong")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302


def test_sign_in_is_refused_after_too_many_failures_even_with_the_right_password(client, manager, settings):
    for _ in range(settings.SIGN_IN_MAX_ATTEMPTS):
        sign_in(client, "am-north", "wrong")
    response = sign_in(client, "am-north")
    assert response.status_code == 200
    assert "Too many sign-in attempts" in response.content.decode()


def test_sign_out_needs_a_post_and_ends_the_session(client, manager):
    client.force_login(manager)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


def test_dashboard_lists_my_customers_with_links_and_their_accrued_rebate(client, manager, other_manager):
    mine = CustomerFactory(account_manager=manager, name="Harbor Fasteners", code="SEED-001")
    agreement = AgreementFactory(customer=mine)
    LedgerEntryFactory(agreement=agreement, amount=Decimal("2.50"))
    LedgerEntryFactory(agreement=agreement, amount=Decimal("2.50"))
    CustomerFactory(account_manager=other_manager, name="Someone Else Ltd")
    client.force_login(manager)
    html = client.get(reverse("dashboard")).content.decode()
    assert "Harbor Fasteners" in html
    assert reverse("customer-detail", args=["SEED-001"]) in html
    assert "$5.00" in html
    assert "Someone Else Ltd" not in html


def test_customer_page_of_another_managers_customer_is_not_found(client, manager, other_manager):
    theirs = CustomerFactory(account_manager=other_manager)
    client.force_login(manager)
    assert client.get(reverse("customer-detail", args=[theirs.code])).status_code == 404


def test_customer_page_shows_the_customers_agreements(client, manager):
    customer = CustomerFactory(account_manager=manager)
    AgreementFactory(customer=customer, number="AG-SEED-2026")
    client.force_login(manager)
    html = client.get(reverse("customer-detail", args=[customer.code])).content.decode()
    assert "AG-SEED-2026" in html


def test_finance_sees_every_customer_on_the_dashboard(client, manager, other_manager):
    CustomerFactory(account_manager=manager, name="North Co")
    CustomerFactory(account_manager=other_manager, name="South Co")
    client.force_login(UserFactory(role=roles.FINANCE))
    html = client.get(reverse("dashboard")).content.decode()
    assert "North Co" in html and "South Co" in html


def test_dashboard_query_count_does_not_grow_with_customers(client, manager, django_assert_max_num_queries):
    for _ in range(40):
        AgreementFactory(customer=CustomerFactory(account_manager=manager))
    client.force_login(manager)
    # The dashboard also reads shortfall months and open signals now; 20 is its ceiling (tests/pages).
    with django_assert_max_num_queries(20):
        assert client.get(reverse("dashboard")).status_code == 200


def test_pages_load_only_the_apps_own_assets(client, manager):
    client.force_login(manager)
    html = client.get(reverse("dashboard")).content.decode()
    assets = re.findall(r'(?:href|src)="([^"]+\.(?:css|js))"', html)
    assert assets, "the page links its stylesheet"
    for url in assets:
        assert url.startswith("/static/"), url
        response = client.get(url)
        assert response.status_code == 200, url
    assert "//cdn" not in html and "https://" not in html
