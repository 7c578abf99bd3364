"""The second approval's threshold is stated in the reporting currency: a settlement in another currency is
compared at the rate of the month its period ends, and without that rate it needs two approvers, the rate named
(docs/settlements.md, docs/currencies.md)."""

import datetime
from decimal import Decimal

import pytest

from customers import roles
from customers.models import AuditRecord
from rebates.models import ExchangeRate, Settlement
from rebates.services import SettlementConflict, settlement_approve, settlements_approve
from tests.factories import AgreementFactory, CustomerFactory, LedgerEntryFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
MARCH = datetime.date(2026, 3, 1)


@pytest.fixture(autouse=True)
def threshold(settings):
    settings.SETTLEMENT_SECOND_APPROVAL_ABOVE = D("1000.00")
    settings.REPORTING_CURRENCY = "USD"


@pytest.fixture
def people():
    return {name: UserFactory(username=name, role=roles.FINANCE) for name in ("ann", "bob")}


def settlement(amount, currency="EUR", code="C-EU"):
    agreement = AgreementFactory(start_month=datetime.date(2026, 1, 1), end_month=datetime.date(2026, 12, 1),
                                 customer=CustomerFactory(code=code, currency=currency))
    LedgerEntryFactory(agreement=agreement, period=MARCH, amount=D(amount), quantity=D("10"),
                       eligible_amount=D("100.00"))
    return Settlement.objects.create(agreement=agreement, period_start=MARCH, period_end=MARCH, interim=True,
                                     accrued_total=D(amount), amount=D(amount))


def march_rate(value):
    ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=MARCH, rate=D(value))
    # Another month's rate never decides: only the month the period ends.
    ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=datetime.date(2026, 4, 1), rate=D("5"))


def test_a_euro_settlement_above_the_threshold_once_converted_needs_a_second_approver(people):
    march_rate("1.10")  # 950.00 EUR = 1,045.00 USD, above 1,000.00 USD
    s = settlement_approve(settlement=settlement("950.00"), by=people["ann"])
    assert s.status == "approving"
    summary = AuditRecord.objects.filter(action="settlement.approve").latest("pk").summary
    assert "950.00 EUR (1045.00 USD at 2026-03's rate), above 1000.00" in summary
    with pytest.raises(SettlementConflict, match="950.00 EUR .1045.00 USD at 2026-03's rate., above 1000.00"):
        settlement_approve(settlement=s, by=people["ann"])
    assert settlement_approve(settlement=s, by=people["bob"]).status == "approved"


def test_a_euro_settlement_at_or_below_the_threshold_once_converted_needs_one(people):
    march_rate("1.05")  # 952.38 EUR = 999.9990 -> 1,000.00 USD: at the threshold, one approval is enough
    assert settlement_approve(settlement=settlement("952.38"), by=people["ann"]).status == "approved"


def test_without_the_months_rate_a_euro_settlement_needs_two_approvers_and_the_rate_is_named(people):
    ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=datetime.date(2026, 4, 1), rate=D("0.10"))
    s = settlement_approve(settlement=settlement("10.00"), by=people["ann"])
    assert s.status == "approving"
    summary = AuditRecord.objects.filter(action="settlement.approve").latest("pk").summary
    assert "No EUR rate to USD for 2026-03." in summary


def test_approving_many_converts_each_settlement_at_its_own_months_rate(people):
    march_rate("1.10")
    above, below = settlement("950.00", code="C-EU1"), settlement("900.00", code="C-EU2")  # 1,045.00 and 990.00 USD
    dollars = settlement("1000.00", currency="USD", code="C-US")  # at the threshold, no conversion
    done = settlements_approve(settlement_ids=[above.pk, below.pk, dollars.pk], by=people["ann"])
    assert (done.approved, done.awaiting_second) == (sorted([below.pk, dollars.pk]), [above.pk])
    first = AuditRecord.objects.get(action="settlement.approve", target_id=str(above.pk)).summary
    assert "950.00 EUR (1045.00 USD at 2026-03's rate), above 1000.00" in first
