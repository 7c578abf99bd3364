"""The risk factors' words and a price claim among the contacts give a customer's amounts in the customer's
currency."""

import datetime
from decimal import Decimal

import pytest

from customers import roles
from customers.models import Customer
from outlook.services import outlook_refresh
from outlook.valuation import CustomerFacts, RiskRules, risk_score
from tests.api.conftest import client_for
from tests.factories import (
    AgreementFactory,
    CustomerFactory,
    LedgerEntryFactory,
    PriceClaimFactory,
    ProductFactory,
    PurchaseLineFactory,
    UserFactory,
)

AS_OF = datetime.date(2026, 11, 9)


def _words(currency):
    facts = CustomerFacts(net_purchases=Decimal("66000.00"), net_purchases_before=Decimal("100000.00"),
                          claims_below_net_net=0, open_signals=0, unpaid_rebate=Decimal("400.00"),
                          term_ends_on=None, currency=currency)
    return {r["factor"]: r["words"] for r in risk_score(facts, rules=RiskRules(), as_of=AS_OF).reasons()}


def test_a_euro_customers_falling_volume_and_rebate_at_stake_are_in_euros():
    words = _words("EUR")
    assert words["falling_volume"] == ("Purchases fell 34.0% against the year before (€66,000.00 in the last 12 "
                                       "months, €100,000.00 in the 12 before).")
    assert words["little_at_stake"].startswith("Only €400.00 of unpaid rebate at stake")
    assert not any("$" in text for text in words.values())


def test_a_dollar_customer_and_one_whose_currency_is_not_said_read_in_dollars():
    assert _words("USD") == _words(None)
    assert _words("USD")["little_at_stake"].startswith("Only $400.00 of unpaid rebate at stake")


@pytest.mark.django_db
@pytest.mark.today("2026-11-09")
def test_the_nightly_outlook_writes_each_customers_reasons_in_its_currency():
    for code, currency in (("R-EU", "EUR"), ("R-US", "USD")):
        customer = CustomerFactory(code=code, currency=currency)
        agreement = AgreementFactory(customer=customer)
        PurchaseLineFactory(customer=customer, month=datetime.date(2026, 10, 1), quantity=Decimal("100"))
        LedgerEntryFactory(agreement=agreement, period=datetime.date(2026, 10, 1), amount=Decimal("2.50"))
    outlook_refresh(as_of=AS_OF)
    reasons = {customer.code: {r["factor"]: r["words"] for r in customer.risk_reasons}
               for customer in Customer.objects.filter(code__in=["R-EU", "R-US"])}
    assert reasons["R-EU"]["little_at_stake"] == ("Only €2.50 of unpaid rebate at stake (0.2% of the year's "
                                                 "purchases): cheap to leave.")
    assert reasons["R-US"]["little_at_stake"].startswith("Only $2.50 of unpaid rebate at stake")


@pytest.mark.django_db
@pytest.mark.today("2026-11-09")
def test_a_price_claim_among_the_contacts_is_in_its_customers_currency():
    manager = UserFactory(username="am.claims", role=roles.ACCOUNT_MANAGER)
    for code, currency in (("C-EU", "EUR"), ("C-US", "USD")):
        PriceClaimFactory(customer=CustomerFactory(code=code, currency=currency, account_manager=manager),
                          product=ProductFactory(sku=f"SKU-{code}"), claimed_price=Decimal("1234.5"))
    client = client_for(manager)
    euro = client.get("/api/v1/customers/C-EU/contacts/").json()
    dollar = client.get("/api/v1/customers/C-US/contacts/").json()
    assert [row["note"] for row in euro] == ["Claimed €1,234.50 for SKU-C-EU"]
    assert [row["note"] for row in dollar] == ["Claimed $1,234.50 for SKU-C-US"]
