"""Users of every role with their tokens, and a client that speaks to the API as one of them."""

import json

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers import roles
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    # Throttle windows live in the shared cache; each test starts with none used.
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def users(db):
    """One user per role, and a second account manager."""
    return {
        "account_manager": UserFactory(username="am.a", role=roles.ACCOUNT_MANAGER),
        "other_manager": UserFactory(username="am.b", role=roles.ACCOUNT_MANAGER),
        "pricing_manager": UserFactory(username="pricing", role=roles.PRICING_MANAGER),
        "finance": UserFactory(username="finance", role=roles.FINANCE),
        "erp": UserFactory(username="erp", role=roles.ERP_INTEGRATION),
        "administrator": UserFactory(username="admin", role=roles.ADMINISTRATOR),
    }


@pytest.fixture
def erp(users):
    return client_for(users["erp"])


@pytest.fixture
def scenario(users):
    """Two managers' customers, each with a per-unit agreement on one product."""
    product = ProductFactory(sku="W-1")
    mine = CustomerFactory(code="C-A", account_manager=users["account_manager"])
    theirs = CustomerFactory(code="C-B", account_manager=users["other_manager"])
    return {
        "product": product,
        "mine": mine,
        "theirs": theirs,
        "my_agreement": AgreementFactory(number="AG-A", customer=mine, products=[product]),
        "their_agreement": AgreementFactory(number="AG-B", customer=theirs, products=[product]),
    }


def line(erp_line_id="L1", customer="C-A", product="W-1", month="2026-03", quantity="10", unit_price="12.10",
         amount="121.00"):
    return {"erp_line_id": erp_line_id, "customer": customer, "product": product, "month": month,
            "quantity": quantity, "unit_price": unit_price, "amount": amount}


def send(client, method, url, body):
    """A JSON request: `method` is the client's verb (post, put, patch)."""
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json")
