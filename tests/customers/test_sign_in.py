"""R19: the app's sign-in and the admin's are throttled by one rule: per account (known or not), with a
higher per-address limit that never lets one account's failures lock other users out."""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from customers import roles
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

OFFICE = "10.0.0.7"  # a proxy every user of one office signs in through
ELSEWHERE = "10.9.9.9"
PAGES = ["login", "admin:login"]


@pytest.fixture(autouse=True)
def _clear_sign_in_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def limits(settings):
    settings.SIGN_IN_MAX_ATTEMPTS = 3
    settings.SIGN_IN_ADDRESS_MAX_ATTEMPTS = 10
    settings.SIGN_IN_WINDOW_SECONDS = 300
    return settings


@pytest.fixture
def admin_user():
    return UserFactory(username="admin-ann", is_staff=True, is_superuser=True)


@pytest.fixture
def staff_bob():
    return UserFactory(username="admin-bob", is_staff=True, is_superuser=True, role=roles.FINANCE)


def sign_in(client, page, username, password=PASSWORD, address=OFFICE):
    return client.post(reverse(page), {"username": username, "password": password}, REMOTE_ADDR=address)


def signed_in(response):
    return response.status_code == 302


def refusal(response):
    assert response.status_code == 200
    text = response.content.decode()
    return "Too many sign-in attempts" in text and "Try again in 5 minutes." in text


def test_admin_sign_in_is_refused_after_too_many_failures_even_with_the_right_password(client, limits, admin_user):
    for _ in range(3):
        assert not signed_in(sign_in(client, "admin:login", "admin-ann", "wrong"))
    response = sign_in(client, "admin:login", "admin-ann")
    assert refusal(response)
    assert client.get(reverse("admin:index")).status_code == 302  # still signed out


@pytest.mark.parametrize("page", PAGES)
def test_failures_for_one_account_never_stop_another_user_at_the_same_address(client, limits, admin_user,
                                                                                 staff_bob, page):
    for _ in range(3):
        sign_in(client, page, "admin-ann", "wrong")
    assert refusal(sign_in(client, page, "admin-ann"))
    assert signed_in(sign_in(client, page, "admin-bob"))


@pytest.mark.parametrize("page", PAGES)
def test_the_address_limit_slows_a_spray_over_many_accounts(client, limits, admin_user, page):
    for number in range(9):  # one failure each on nine accounts: below the address limit
        sign_in(client, page, f"guess-{number}", "wrong")
    assert signed_in(sign_in(client, page, "admin-ann"))
    client.logout()
    sign_in(client, page, "guess-9", "wrong")  # the tenth failure from the office
    assert refusal(sign_in(client, page, "admin-ann"))
    assert signed_in(sign_in(client, page, "admin-ann", address=ELSEWHERE))


def test_app_and_admin_sign_in_count_failures_together(client, limits, admin_user):
    sign_in(client, "admin:login", "admin-ann", "wrong")
    sign_in(client, "login", "admin-ann", "wrong")
    sign_in(client, "admin:login", "admin-ann", "wrong")
    assert refusal(sign_in(client, "login", "admin-ann"))
    assert refusal(sign_in(client, "admin:login", "admin-ann"))


@pytest.mark.parametrize("page", PAGES)
def test_an_unknown_account_is_refused_exactly_like_a_real_one(client, limits, admin_user, page):
    for username in ("admin-ann", "nobody-here"):
        for _ in range(3):
            sign_in(client, page, username, "wrong")
    real = sign_in(client, page, "admin-ann", "wrong")
    unknown = sign_in(client, page, "nobody-here", "wrong")
    assert refusal(real) and refusal(unknown)
    assert page_text(real, "admin-ann") == page_text(unknown, "nobody-here")


def page_text(response, username):
    """The page with the typed name and the per-request CSRF token taken out."""
    text = response.content.decode().replace(username, "NAME")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)


def test_the_answer_counts_down_the_minutes_on_the_one_clock(client, limits, admin_user, pinned_clock):
    for _ in range(3):
        sign_in(client, "login", "admin-ann", "wrong")
    pinned_clock.shift(130)
    response = sign_in(client, "login", "admin-ann")
    assert "Try again in 3 minutes." in response.content.decode()
    pinned_clock.shift(120)
    assert "Try again in 1 minute." in sign_in(client, "login", "admin-ann").content.decode()


def test_a_right_password_clears_the_accounts_failures(client, limits, admin_user):
    sign_in(client, "login", "admin-ann", "wrong")
    sign_in(client, "login", "admin-ann", "wrong")
    assert signed_in(sign_in(client, "login", "admin-ann"))
    client.logout()
    sign_in(client, "login", "admin-ann", "wrong")
    sign_in(client, "login", "admin-ann", "wrong")
    assert signed_in(sign_in(client, "login", "admin-ann"))


def test_a_non_staff_user_refused_by_the_admin_is_not_locked_out_of_the_app(client, limits):
    UserFactory(username="am-north", role=roles.ACCOUNT_MANAGER)
    for _ in range(4):
        assert not signed_in(sign_in(client, "admin:login", "am-north"))
    assert signed_in(sign_in(client, "login", "am-north"))


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("username", ["x" * 5000, "nul%00name", "%ED%A0%80%FF", "%E5%90%8D+%EF%BC%9D1%2B2", "",
                                      "a&username=b"])
def test_odd_user_names_get_an_answer_never_a_500(client, limits, page, username):
    body = f"username={username}&password=wrong"  # sent as typed: bad UTF-8, NUL, repeated fields
    for _ in range(4):
        response = client.post(reverse(page), body, content_type="application/x-www-form-urlencoded",
                               REMOTE_ADDR=OFFICE)
        assert response.status_code == 200
