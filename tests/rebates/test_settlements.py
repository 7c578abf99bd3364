"""Settlements: closing a period, interim payments, approve and pay (once), adjustments to paid months,
expiry and the roles allowed to do each."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum

from customers import roles
from customers.models import AuditRecord
from rebates.engine.periods import add_months, period_start
from rebates.models import LedgerEntry, RebateAgreement, Settlement
from rebates.services import (
    SettlementConflict,
    SettlementError,
    accrual_run_perform,
    accrual_run_start,
    settlement_approve,
    settlement_close,
    settlement_interim,
    settlement_pay,
    settlements_approve,
    settlements_close_due,
)
from rebates.services import settlement as settlement_services
from tests.factories import (
    AgreementFactory,
    PerUnitRuleFactory,
    ProductFactory,
    PurchaseLineFactory,
    UserFactory,
    second_finance_user,
)

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
    settlement_approve(settlement=settlement, by=second_finance_user())
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
    assert actions == [("settlement.close", None), ("settlement.approve", second_finance_user().pk),
                       ("settlement.pay", finance.pk)]


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


class _Rollback(Exception):
    pass


def _closed_by(close):
    """What `close` drafts (settlements and their audit rows), rolled back afterwards."""
    before = set(Settlement.objects.values_list("pk", flat=True))
    try:
        with transaction.atomic():
            close()
            raise _Rollback(_drafted_since(before))
    except _Rollback as outcome:
        return outcome.args[0]


def _drafted_since(before):
    """The settlements not in `before` (their figures, sorted), their audit rows, and every agreement's status."""
    new = Settlement.objects.exclude(pk__in=before)
    figures = {s.pk: (s.agreement_id, s.period_start, s.period_end, s.interim, s.accrued_total,
                      s.adjustments, s.already_paid, s.amount, s.status) for s in new}
    audits = sorted((figures[int(a.target_id)], a.actor_id, a.actor_label, a.summary, a.data)
                    for a in AuditRecord.objects.filter(action="settlement.close",
                                                        target_id__in=[str(pk) for pk in figures]))
    statuses = sorted(RebateAgreement.objects.values_list("pk", "status"))
    return sorted(figures.values()), audits, statuses


def _close_one_by_one(agreements, as_of):
    """The reference: each due period closed by settlement_close, one agreement and period at a time, then
    each due interim payment, then expiry."""
    as_of_month = month(as_of.month, as_of.year)
    for agreement in agreements:
        length = {"annual": 12, "quarterly": 3, "monthly": 1}[agreement.settlement_frequency]
        first = agreement.start_month
        while first <= agreement.end_month:
            last = min(add_months(first, length - 1), agreement.end_month)
            if last >= as_of_month:
                break
            settlement_close(agreement=agreement, period_first=first)
            first = add_months(first, length)
    for agreement in agreements:
        if not agreement.interim_frequency:
            continue
        length = {"annual": 12, "quarterly": 3}[agreement.settlement_frequency]
        step = {"quarterly": 3, "monthly": 1}[agreement.interim_frequency]
        first = period_start(agreement.start_month, agreement.settlement_frequency, add_months(as_of_month, -1))
        held = set(Settlement.objects.filter(agreement=agreement, period_start=first, interim=True)
                   .exclude(status="forfeited").values_list("period_end", flat=True))
        through = add_months(first, step - 1)
        while through < add_months(first, length - 1) and through < as_of_month:
            if through not in held:
                settlement_close(agreement=agreement, period_first=first, interim_through=through)
            through = add_months(through, step)
    RebateAgreement.objects.filter(pk__in=[a.pk for a in agreements], end_month__lt=as_of_month).update(
        status="expired")


def _mixed_book(finance):
    """Five agreements, each closing its own way (see the comments), accrued to 2026-11-05 and not yet closed:
    (the as-of date, the agreements by id, the one whose term has ended)."""
    # Quarterly, its first quarter paid, then a late February line: an adjustment in the next closing.
    quarterly, product = seed(frequency="quarterly")
    # Annual with quarterly interim payments, the first one paid; monthly closings with one forfeited;
    # quarterly with monthly interim payments; a term that has ended (expires).
    interims, _ = seed()
    RebateAgreement.objects.filter(pk=interims.pk).update(interim_frequency="quarterly")
    monthly, monthly_product = seed(frequency="monthly")
    monthly_interims, _ = seed(frequency="quarterly")
    RebateAgreement.objects.filter(pk=monthly_interims.pk).update(interim_frequency="monthly")
    ended, _ = seed(frequency="quarterly", months=(1, 2, 3, 4, 5, 6))
    RebateAgreement.objects.filter(pk=ended.pk).update(end_month=month(6))
    run = accrual_run_start(as_of=datetime.date(2026, 4, 2), trigger="finance", queue=False)
    accrual_run_perform(run_id=run.pk, close_settlements=True)
    pay(Settlement.objects.get(agreement=quarterly, period_start=month(1)), finance)
    pay(Settlement.objects.get(agreement=interims, interim=True), finance)
    Settlement.objects.filter(agreement=monthly, period_start=month(2)).update(status="forfeited")
    PurchaseLineFactory(customer=quarterly.customer, product=product, month=month(2), quantity=D("2"))
    PurchaseLineFactory(customer=monthly.customer, product=monthly_product, month=month(1), quantity=D("4"))
    run = accrual_run_start(as_of=datetime.date(2026, 11, 5), trigger="finance", queue=False)
    accrual_run_perform(run_id=run.pk, close_settlements=False)
    return datetime.date(2026, 11, 5), list(RebateAgreement.objects.order_by("pk")), ended


def test_closing_many_agreements_at_once_gives_the_figures_of_closing_them_one_by_one(finance):
    as_of, agreements, ended = _mixed_book(finance)

    at_once = _closed_by(lambda: settlements_close_due(as_of=as_of))
    one_by_one = _closed_by(lambda: _close_one_by_one(agreements, as_of))

    settlements, audits, statuses = at_once
    # Q2-Q3; interims through Jun and Sep; Apr-Oct; Q2-Q3 and an interim through Oct; the ended term's Q2.
    assert len(settlements) == 2 + 2 + 7 + 2 + 1 + 1
    assert sum(1 for s in settlements if s[4:8] != (D("0.00"),) * 4) == len(settlements)
    assert dict(statuses)[ended.pk] == "expired"
    assert at_once == one_by_one


@pytest.mark.django_db(transaction=True)
def test_a_book_closed_in_parts_side_by_side_gives_the_figures_of_closing_one_by_one(finance, settings):
    settings.SETTLEMENT_CLOSE_PARTS, settings.SETTLEMENT_CLOSE_PART_MIN = 3, 1
    as_of, agreements, _ = _mixed_book(finance)
    one_by_one = _closed_by(lambda: _close_one_by_one(agreements, as_of))
    before = set(Settlement.objects.values_list("pk", flat=True))
    # Three ranges of agreement ids, each closed in a transaction and on a connection of its own.
    assert len(settlement_services._close_parts(month(11))) == 3

    created = settlements_close_due(as_of=as_of)

    assert len(created) == len(set(created)) == 2 + 2 + 7 + 2 + 1 + 1
    assert _drafted_since(before) == one_by_one
    assert settlements_close_due(as_of=as_of) == []


def test_the_nightly_close_drafts_no_interim_payment_in_a_period_already_closed():
    agreement, _ = seed()
    RebateAgreement.objects.filter(pk=agreement.pk).update(interim_frequency="quarterly")
    run = accrual_run_start(as_of=datetime.date(2026, 7, 2), trigger="finance", queue=False)
    accrual_run_perform(run_id=run.pk, close_settlements=False)
    closing = settlement_close(agreement=agreement, period_first=month(1))

    assert settlements_close_due(as_of=datetime.date(2026, 7, 2)) == []
    assert list(Settlement.objects.filter(agreement=agreement)) == [closing]


def test_closing_at_once_counts_months_outside_a_changed_term_as_closing_one_by_one_does(finance):
    # Booked over the whole year, then the term moved before a run books the difference: months before
    # the new start count as earlier months (an adjustment), months after the new end count for no period.
    later_start, _ = seed(frequency="quarterly")
    earlier_end, _ = seed(frequency="monthly")
    accrue(datetime.date(2026, 4, 2))
    pay(Settlement.objects.get(agreement=later_start, period_start=month(1)), finance)
    run = accrual_run_start(as_of=datetime.date(2026, 12, 5), trigger="finance", queue=False)
    accrual_run_perform(run_id=run.pk, close_settlements=False)
    RebateAgreement.objects.filter(pk=later_start.pk).update(start_month=month(2))
    RebateAgreement.objects.filter(pk=earlier_end.pk).update(end_month=month(8))
    as_of = datetime.date(2026, 12, 5)
    agreements = list(RebateAgreement.objects.order_by("pk"))

    at_once = _closed_by(lambda: settlements_close_due(as_of=as_of))
    one_by_one = _closed_by(lambda: _close_one_by_one(agreements, as_of))

    settlements = at_once[0]
    # Feb-Apr, May-Jul, Aug-Oct; Apr..Aug of the monthly one (Jan-Mar were closed by the first run).
    assert [(s[0], s[1]) for s in settlements] == [
        (later_start.pk, month(2)), (later_start.pk, month(5)), (later_start.pk, month(8)),
        *[(earlier_end.pk, month(m)) for m in range(4, 9)],
    ]
    assert at_once == one_by_one


def test_the_approver_cannot_pay_what_they_approved(finance):
    seed()
    accrue(datetime.date(2027, 1, 5))
    settlement = settlement_approve(settlement=Settlement.objects.get(), by=finance)
    with pytest.raises(SettlementConflict, match="four eyes"):
        settlement_pay(settlement=settlement, by=finance, paid_on=PAID_ON, payment_reference="CN-1")
    assert Settlement.objects.get().status == "approved"
    assert not LedgerEntry.objects.filter(kind="payout").exists()
    paid = settlement_pay(settlement=settlement, by=second_finance_user(), paid_on=PAID_ON, payment_reference="CN-1")
    assert (paid.status, paid.approved_by, paid.paid_by) == ("paid", finance, second_finance_user())


def test_approving_many_approves_only_the_drafts_with_an_audit_row_each(finance):
    seed()
    seed()
    accrue(datetime.date(2027, 1, 5))
    first, second = Settlement.objects.order_by("pk")
    settlement_approve(settlement=second, by=second_finance_user())
    done = settlements_approve(settlement_ids=[first.pk, second.pk], by=finance)
    assert (done.approved, done.awaiting_second, done.left, done.amount) == ([first.pk], [], [], first.amount)
    assert {s.pk: (s.status, s.approved_by_id) for s in Settlement.objects.all()} == {
        first.pk: ("approved", finance.pk), second.pk: ("approved", second_finance_user().pk)}
    assert AuditRecord.objects.filter(action="settlement.approve", actor=finance).count() == 1
    again = settlements_approve(settlement_ids=[first.pk, second.pk], by=finance)
    assert (again.approved, again.awaiting_second, again.amount) == ([], [], D("0.00"))
