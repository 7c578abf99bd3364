"""Settlements: closing a period, interim payments, approve and pay (once), adjustments to paid months,
expiry and the roles allowed to do each."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db.models import Sum

from customers import roles
from customers.models import AuditRecord
from rebates.models import LedgerEntry, RebateAgreement, Settlement
from rebates.services import (
    SettlementConflict,
    SettlementError,
    accrual_run_perform,
    accrual_run_start,
    settlement_approve,
    settlement_interim,
    settlement_pay,
    settlements_close_due,
)
from tests.factories import AgreementFactory, PerUnitRuleFactory, ProductFactory, PurchaseLineFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
YEAR = tuple(range(1, 13))
PAID_ON = datetime.date(2027, 1, 20)


def month(m, year=2026):
    return datetime.date(year, m, 1)


def accrue(as_of):
    run = accrual_run_start(as_of=as_of, trigger="finance", queue=False)
    return accrual_run_perform(run_id=run.pk)


@pytest.fixture
def finance():
    return UserFactory(username="finance-clerk", role=roles.FINANCE)


def seed(frequency="annual", months=YEAR):
    product = ProductFactory()
    agreement = AgreementFactory(products=[product], settlement_frequency=frequency)
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
    for m in months:
        PurchaseLineFactory(customer=agreement.customer, product=product, month=month(m), quantity=D("10"))
    return agreement, product


def balance(agreement):
    return LedgerEntry.objects.filter(agreement=agreement).aggregate(t=Sum("amount"))["t"] or D("0")


def pay(settlement, finance, reference="CN-1"):
    settlement_approve(settlement=settlement, by=finance)
    return settlement_pay(settlement=settlement, by=finance, paid_on=PAID_ON, payment_reference=reference)


def test_expiry_closes_the_year_into_a_draft_settlement_of_30(finance):
    agreement, _ = seed()
    accrue(datetime.date(2027, 1, 5))
    settlement = Settlement.objects.get(agreement=agreement)
    assert (settlement.period_start, settlement.period_end) == (month(1), month(12))
    assert (settlement.status, settlement.accrued_total, settlement.amount) == ("draft", D("30.00"), D("30.00"))
    agreement.refresh_from_db()
    assert agreement.status == "expired"


def test_closing_twice_creates_one_settlement():
    agreement, _ = seed()
    accrue(datetime.date(2027, 1, 5))
    assert settlements_close_due(as_of=datetime.date(2027, 1, 6)) == []
    assert Settlement.objects.filter(agreement=agreement).count() == 1


def test_paying_books_a_payout_that_brings_the_period_to_zero_and_settles_the_agreement(finance):
    agreement, _ = seed()
    accrue(datetime.date(2027, 1, 5))
    settlement = pay(Settlement.objects.get(agreement=agreement), finance)
    payout = LedgerEntry.objects.get(agreement=agreement, kind="payout")
    assert (payout.amount, payout.settlement, payout.period) == (D("-30.00"), settlement, month(12))
    assert balance(agreement) == D("0.00")
    agreement.refresh_from_db()
    assert agreement.status == "settled"
    assert settlement.payment_reference == "CN-1" and settlement.paid_by == finance


def test_paying_twice_books_one_payout(finance):
    agreement, _ = seed()
    accrue(datetime.date(2027, 1, 5))
    settlement = pay(Settlement.objects.get(agreement=agreement), finance)
    with pytest.raises(SettlementConflict, match="already paid"):
        settlement_pay(settlement=settlement, by=finance, paid_on=PAID_ON, payment_reference="CN-2")
    assert LedgerEntry.objects.filter(kind="payout").count() == 1


def test_a_draft_cannot_be_paid_before_it_is_approved(finance):
    agreement, _ = seed()
    accrue(datetime.date(2027, 1, 5))
    with pytest.raises(SettlementConflict, match="approve it before paying"):
        settlement_pay(settlement=Settlement.objects.get(), by=finance, paid_on=PAID_ON, payment_reference="CN-1")


def test_paying_needs_a_credit_note_number(finance):
    seed()
    accrue(datetime.date(2027, 1, 5))
    settlement = settlement_approve(settlement=Settlement.objects.get(), by=finance)
    with pytest.raises(SettlementError, match="payment reference"):
        settlement_pay(settlement=settlement, by=finance, paid_on=PAID_ON, payment_reference="  ")


@pytest.mark.parametrize("role", [roles.ACCOUNT_MANAGER, roles.PRICING_MANAGER, roles.ERP_INTEGRATION])
def test_only_finance_approves_and_pays(role):
    seed()
    accrue(datetime.date(2027, 1, 5))
    settlement = Settlement.objects.get()
    user = UserFactory(role=role)
    with pytest.raises(PermissionDenied):
        settlement_approve(settlement=settlement, by=user)
    settlement.refresh_from_db()
    assert settlement.status == "draft"


def test_quarterly_agreement_closes_each_quarter(finance):
    agreement, _ = seed(frequency="quarterly")
    accrue(datetime.date(2026, 7, 2))
    closings = list(Settlement.objects.filter(agreement=agreement).order_by("period_start")
                    .values_list("period_start", "period_end", "amount"))
    assert closings == [(month(1), month(3), D("7.50")), (month(4), month(6), D("7.50"))]


def test_change_to_a_paid_month_goes_into_the_next_settlement(finance):
    agreement, product = seed(frequency="quarterly", months=range(1, 7))
    accrue(datetime.date(2026, 4, 2))
    pay(Settlement.objects.get(agreement=agreement, period_start=month(1)), finance)
    # Two more units of February arrive after the first quarter was paid.
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(2), quantity=D("2"))
    accrue(datetime.date(2026, 7, 2))
    second = Settlement.objects.get(agreement=agreement, period_start=month(4))
    assert (second.accrued_total, second.adjustments, second.amount) == (D("7.50"), D("0.50"), D("8.00"))
    pay(second, finance, reference="CN-2")
    assert balance(agreement) == D("0.00")


def test_interim_payment_pays_earned_to_date_and_the_closing_pays_the_rest(finance):
    agreement, _ = seed()
    accrue(datetime.date(2026, 3, 31))
    interim = settlement_interim(agreement=agreement, through=datetime.date(2026, 3, 31), by=finance)
    assert (interim.interim, interim.amount) == (True, D("7.50"))
    pay(interim, finance)
    accrue(datetime.date(2027, 1, 5))
    closing = Settlement.objects.get(agreement=agreement, interim=False)
    assert (closing.accrued_total, closing.already_paid, closing.amount) == (D("30.00"), D("7.50"), D("22.50"))
    pay(closing, finance, reference="CN-2")
    assert balance(agreement) == D("0.00")


def test_interim_payment_of_a_closed_period_is_refused_so_its_months_are_never_paid_twice(finance):
    agreement, _ = seed(frequency="quarterly")
    accrue(datetime.date(2026, 4, 2))
    pay(Settlement.objects.get(agreement=agreement, period_start=month(1)), finance)
    with pytest.raises(SettlementError, match="closed"):
        settlement_interim(agreement=agreement, through=datetime.date(2026, 1, 31), by=finance)
    assert Settlement.objects.filter(agreement=agreement).count() == 1


def test_terminating_forfeits_open_settlements():
    from rebates.services import agreement_terminate

    agreement, _ = seed(frequency="quarterly")
    accrue(datetime.date(2026, 4, 2))
    agreement_terminate(agreement=agreement, terminated_on=datetime.date(2026, 5, 31))
    assert Settlement.objects.get(agreement=agreement).status == "forfeited"
    assert balance(agreement) == D("0.00")
    assert RebateAgreement.objects.get(pk=agreement.pk).status == "terminated"


def test_every_settlement_decision_is_audited(finance):
    seed()
    accrue(datetime.date(2027, 1, 5))
    settlement = pay(Settlement.objects.get(), finance)
    actions = list(AuditRecord.objects.filter(target_type="rebates.settlement", target_id=str(settlement.pk))
                   .order_by("at", "id").values_list("action", "actor"))
    assert actions == [("settlement.close", None), ("settlement.approve", finance.pk), ("settlement.pay", finance.pk)]


def test_closing_many_periods_at_once_pays_each_what_closing_them_one_by_one_would(finance):
    agreement, product = seed(frequency="quarterly")
    accrue(datetime.date(2026, 4, 2))
    pay(Settlement.objects.get(agreement=agreement, period_start=month(1)), finance)
    # A late February line after the first quarter was paid; then three quarters close in one go.
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(2), quantity=D("2"))
    run = accrual_run_start(as_of=datetime.date(2027, 1, 5), trigger="finance", queue=False)
    accrual_run_perform(run_id=run.pk, close_settlements=False)
    closed = Settlement.objects.filter(pk__in=settlements_close_due(as_of=datetime.date(2027, 1, 5)))
    assert [(s.period_start, s.accrued_total, s.adjustments, s.amount) for s in closed.order_by("pk")] == [
        (month(4), D("7.50"), D("0.50"), D("8.00")),
        (month(7), D("7.50"), D("0.00"), D("7.50")),
        (month(10), D("7.50"), D("0.00"), D("7.50")),
    ]
    assert AuditRecord.objects.filter(action="settlement.close").count() == 4
    agreement.refresh_from_db()
    assert agreement.status == "expired"
    assert settlements_close_due(as_of=datetime.date(2027, 1, 5)) == []
