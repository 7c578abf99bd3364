"""Ledgers for the Excel tests, built with the factories and booked by the accrual service."""

import datetime
from decimal import Decimal

from customers import roles
from rebates.models import RebateRule, TierBand
from rebates.services import accrual_run_perform, accrual_run_start
from tests.factories import (
    AgreementFactory,
    ContractPriceFactory,
    CustomerFactory,
    PerUnitRuleFactory,
    ProductFactory,
    PurchaseLineFactory,
    UserFactory,
)

D = Decimal
YEAR = tuple(range(1, 13))


def month(m, year=2026):
    return datetime.date(year, m, 1)


def accrue(as_of):
    run = accrual_run_start(as_of=as_of, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk)


def finance_user():
    return UserFactory(username="finance", role=roles.FINANCE)


def seed_agreement(*, customer=None, number="AG-SEED", sku="FAS-101", months=YEAR):
    """docs/product.md's worked example 1: $12.10 net, 10 units a month, $0.25 a unit."""
    product = ProductFactory(sku=sku)
    agreement = AgreementFactory(number=number, products=[product],
                                 **({"customer": customer} if customer else {}))
    ContractPriceFactory(agreement=agreement, net_price=D("12.10"))
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
    for m in months:
        PurchaseLineFactory(customer=agreement.customer, product=product, month=month(m), quantity=D("10"),
                            unit_price=D("12.10"))
    return agreement


def tiered_agreement(*, customer=None, number="AG-TIER", sku="TIER-1"):
    """Worked example 2: retroactive tiers on quantity, 1% / 2% from 1,000 / 3% from 5,000; 400 units a
    month at $10.00 for January to March."""
    product = ProductFactory(sku=sku)
    agreement = AgreementFactory(number=number, products=[product], committed_monthly_quantity=D("500"),
                                 **({"customer": customer} if customer else {}))
    ContractPriceFactory(agreement=agreement, net_price=D("10.00"))
    rule = RebateRule.objects.create(agreement=agreement, kind="tiered", rate_type="percent",
                                     tier_basis="quantity", tier_method="retroactive")
    for threshold, rate in ((0, 1), (1000, 2), (5000, 3)):
        TierBand.objects.create(rule=rule, threshold=D(threshold), rate=D(rate))
    for m in (1, 2, 3):
        PurchaseLineFactory(customer=agreement.customer, product=product, month=month(m), quantity=D("400"),
                            unit_price=D("10.00"))
    return agreement


def two_managers_agreements():
    """Manager A's customer with the seed agreement, manager B's with the tiered one, both accrued."""
    manager_a = UserFactory(username="manager_a", role=roles.ACCOUNT_MANAGER)
    manager_b = UserFactory(username="manager_b", role=roles.ACCOUNT_MANAGER)
    seed = seed_agreement(customer=CustomerFactory(code="C-A", name="Alpha Tools", account_manager=manager_a))
    tiered = tiered_agreement(customer=CustomerFactory(code="C-B", name="Beta Parts", account_manager=manager_b))
    accrue(datetime.date(2026, 12, 31))
    return manager_a, manager_b, seed, tiered
