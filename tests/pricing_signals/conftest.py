"""Shared pieces of the market signal tests: people by role, the seed product and its agreements."""

from datetime import date
from decimal import Decimal

import pytest

# Factories import the models: imported where used, so the pure detection tests run without Django too.

YEAR_END = date(2026, 12, 31)


def user_with_role(username, role_name, **fields):
    from tests.factories import UserFactory

    return UserFactory(username=username, role=role_name, **fields)


@pytest.fixture
def manager_a(db):
    from customers.roles import ACCOUNT_MANAGER

    return user_with_role("am.a", ACCOUNT_MANAGER)


@pytest.fixture
def manager_b(db):
    from customers.roles import ACCOUNT_MANAGER

    return user_with_role("am.b", ACCOUNT_MANAGER)


@pytest.fixture
def pricing_manager(db):
    from customers.roles import PRICING_MANAGER

    return user_with_role("pricing", PRICING_MANAGER, first_name="Priya", last_name="Raman")


@pytest.fixture
def finance(db):
    from customers.roles import FINANCE

    return user_with_role("finance", FINANCE)


@pytest.fixture
def product(db):
    from tests.factories import ProductFactory

    return ProductFactory(sku="FAS-101", name="Hex bolt M10x50, box of 50", list_price=Decimal("13.75"))


def agreement_for(customer, product, *, net_price="12.10", rate="0.25", status="active", **fields):
    """An agreement of the customer on the product for 2026 with a per-unit rule and a contract price."""
    from tests.factories import AgreementFactory, ContractPriceFactory, PerUnitRuleFactory

    agreement = AgreementFactory(customer=customer, products=[product], status=status, **fields)
    ContractPriceFactory(agreement=agreement, net_price=Decimal(net_price))
    PerUnitRuleFactory(agreement=agreement, rate=Decimal(rate))
    return agreement


def claim_on(product, customer, day, price="11.40", **fields):
    from tests.factories import PriceClaimFactory

    return PriceClaimFactory(product=product, customer=customer, reported_on=day, claimed_price=Decimal(price),
                             **fields)


@pytest.fixture
def seed(product, manager_a, manager_b):
    """docs/product.md's seed scenario: SEED-001 claims in April, June and September; two customers (one of
    another manager) echo September within 30 days and 2 %."""
    from tests.factories import CustomerFactory

    seed_customer = CustomerFactory(code="SEED-001", name="Harbor Fasteners", account_manager=manager_a)
    echo_one = CustomerFactory(code="C-1002", account_manager=manager_a)
    echo_two = CustomerFactory(code="C-1003", account_manager=manager_b)
    claims = {
        "april": claim_on(product, seed_customer, date(2026, 4, 14)),
        "june": claim_on(product, seed_customer, date(2026, 6, 10)),
        "september": claim_on(product, seed_customer, date(2026, 9, 8)),
        "echo_one": claim_on(product, echo_one, date(2026, 9, 15), "11.45"),
        "echo_two": claim_on(product, echo_two, date(2026, 9, 22), "11.38"),
    }
    return {"customer": seed_customer, "echo_one": echo_one, "echo_two": echo_two, "claims": claims}


def signal_on(product, median, *claimants):
    """A stored signal on `product` at `median`, its claims corroborated, one per claimant: for exposure tests
    that need a signal without running detection."""
    from pricing_signals.models import MarketSignal, PriceClaim
    from tests.factories import PriceClaimFactory

    signal = MarketSignal.objects.create(product=product, window_start=date(2026, 9, 1), window_end=date(2026, 9, 25),
                                         claim_count=len(claimants), customer_count=len(claimants),
                                         median_price=Decimal(median))
    for customer in claimants:
        PriceClaimFactory(customer=customer, product=product, claimed_price=Decimal(median), signal=signal,
                          status=PriceClaim.Status.CORROBORATED)
    return signal
