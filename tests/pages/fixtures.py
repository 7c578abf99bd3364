"""Fixtures of the page tests (the pages app's and each app's own): the seed scenario, and a client signed in
as one of its users. Each page test folder's conftest.py imports them."""

import pytest
from django.core.cache import cache

from tests.pages.scenario import build as build_scenario


@pytest.fixture(autouse=True)
def _clear_sign_in_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def scenario(db):
    """The seed scenario without the seed customer's September claim (the account manager logs it)."""
    return build_scenario()


@pytest.fixture
def signalled_scenario(db):
    """The seed scenario with September's claim: the seed signal is there."""
    return build_scenario(with_september_claim=True)


@pytest.fixture
def client_for(client):
    def sign_in(user):
        client.force_login(user)
        return client

    return sign_in


def html(response) -> str:
    """A page's text."""
    return response.content.decode()
