"""Period lock: finance closes a month and nothing is booked into it again. A late line for a locked month
books its difference into the first open month, recording the month it concerns, once; reopening needs a
reason; both are audited; every writer of the ledger (the engine's COPY, the flat rules' statement, payouts,
forfeitures, raw SQL) is held to it by the database."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from customers import roles
from customers.models import AuditRecord
from rebates.models import LedgerEntry, PeriodLock, Settlement
from rebates.services import (
    accrual_run_perform,
    accrual_run_start,
    agreement_terminate,
    settlement_approve,
    settlement_interim,
    settlement_pay,
)
from rebates.services.period_lock import PeriodLockConflict, PeriodLockError, period_lock, period_reopen
from tests.factories import (
    AgreementFactory,
    LedgerEntryFactory,
    PerUnitRuleFactory,
    ProductFactory,
    PurchaseLineFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = datetime.date(2026, 11, 23)
JAN_TO_OCT = tuple(range(1, 11))


def month(m, year=2026):
    return datetime.date(year, m, 1)


def accrue(as_of, full=False):
    run = accrual_run_start(as_of=as_of, full=full, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk)


@pytest.fixture
def finance():
    return UserFactory(username="lock-finance", role=roles.FINANCE)


def seed(*, minimum=None, months=JAN_TO_OCT):
    """The seed agreement ($0.25 a unit, 10 units a month): flat with no minimum (booked by the database's
    statement), through the engine with one."""
    product = ProductFactory(sku="LOCK-1")
    agreement = AgreementFactory(products=[product])
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"), minimum=minimum)
    for m in months:
        PurchaseLineFactory(customer=agreement.customer, product=product, month=month(m), quantity=D("10"),
                            unit_price=D("12.10"))
    return agreement, product


def rows(agreement):
    return list(LedgerEntry.objects.filter(agreement=agreement).order_by("id")
                .values_list("period", "concerns", "kind", "amount"))


def test_locking_a_month_records_who_and_writes_an_audit_row(finance):
    lock = period_lock(month=month(9), by=finance, today=TODAY)
    assert lock.locked and lock.locked_by == finance
    record = AuditRecord.objects.get(action="period.lock")
    assert record.actor == finance and record.target_id == str(lock.pk) and record.data == {"month": "2026-09"}


def test_locking_twice_is_a_conflict_and_a_month_not_ended_is_refused(finance):
    period_lock(month=month(9), by=finance, today=TODAY)
    with pytest.raises(PeriodLockConflict):
        period_lock(month=month(9), by=finance, today=TODAY)
    with pytest.raises(PeriodLockError) as refused:
        period_lock(month=month(11), by=finance, today=TODAY)
    assert refused.value.field == "month"
    with pytest.raises(PeriodLockError):
        period_lock(month=datetime.date(2026, 9, 15), by=finance, today=TODAY)


def test_reopening_needs_a_reason_is_audited_and_an_open_month_is_a_conflict(finance):
    with pytest.raises(PeriodLockConflict):
        period_reopen(month=month(9), reason="late credit note", by=finance)
    period_lock(month=month(9), by=finance, today=TODAY)
    with pytest.raises(PeriodLockError) as refused:
        period_reopen(month=month(9), reason="  ", by=finance)
    assert refused.value.field == "reason"
    lock = period_reopen(month=month(9), reason="Credit note 4411 belongs in September", by=finance)
    assert not lock.locked and lock.reopened_by == finance
    record = AuditRecord.objects.get(action="period.reopen")
    assert record.data == {"month": "2026-09", "reason": "Credit note 4411 belongs in September"}
    # Locked again later: one row, locked, the reopening kept in the audit records.
    assert period_lock(month=month(9), by=finance, today=TODAY).locked
    assert PeriodLock.objects.count() == 1


def test_only_finance_locks_a_month():
    manager = UserFactory(username="lock-manager", role=roles.ACCOUNT_MANAGER)
    with pytest.raises(PermissionDenied):
        period_lock(month=month(9), by=manager, today=TODAY)
    assert not PeriodLock.objects.exists()


@pytest.mark.parametrize("minimum", [None, D("5")], ids=["flat-rule-statement", "engine-copy"])
def test_a_late_line_for_a_locked_month_books_into_the_first_open_month_once(finance, minimum):
    agreement, product = seed(minimum=minimum)
    accrue(datetime.date(2026, 10, 31))
    period_lock(month=month(8), by=finance, today=TODAY)
    period_lock(month=month(9), by=finance, today=TODAY)
    booked_before = list(LedgerEntry.objects.filter(period__in=[month(8), month(9)]).values_list("id", flat=True))
    # Two units of August returned, sent in November.
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(8), quantity=D("-2"),
                        unit_price=D("12.10"))
    accrue(datetime.date(2026, 10, 31))
    late = LedgerEntry.objects.filter(agreement=agreement).exclude(pk__in=booked_before).filter(concerns=month(8))
    assert list(late.values_list("period", "concerns", "kind", "amount")) == [
        (month(10), month(8), "adjustment", D("-0.50"))]
    # Nothing landed in the locked months; the next run and a full recompute book nothing more.
    assert set(LedgerEntry.objects.filter(period__in=[month(8), month(9)]).values_list("id", flat=True)) == set(
        booked_before)
    assert accrue(datetime.date(2026, 10, 31)).entries_count == 0
    assert accrue(datetime.date(2026, 10, 31), full=True).entries_count == 0
    # Per month concerned the ledger holds what the engine expects: August is $2.00.
    august = LedgerEntry.objects.filter(agreement=agreement, concerns=month(8)).aggregate(t=Sum("amount"))["t"]
    assert august == D("2.00")


def test_after_reopening_a_late_difference_is_booked_into_its_own_month(finance):
    agreement, product = seed()
    accrue(datetime.date(2026, 10, 31))
    period_lock(month=month(8), by=finance, today=TODAY)
    period_reopen(month=month(8), reason="restated August", by=finance)
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(8), quantity=D("4"))
    accrue(datetime.date(2026, 10, 31))
    assert rows(agreement)[-1] == (month(8), month(8), "adjustment", D("1.00"))


def test_the_orm_books_into_the_first_open_month_and_the_database_refuses_a_locked_one(finance):
    agreement, _ = seed()
    period_lock(month=month(3), by=finance, today=TODAY)
    period_lock(month=month(4), by=finance, today=TODAY)
    LedgerEntryFactory(agreement=agreement, period=month(3), kind="adjustment", amount=D("1.00"))
    LedgerEntry.objects.bulk_create([LedgerEntry(agreement=agreement, period=month(4), kind="adjustment",
                                                 amount=D("1.00"), booking_key="bulk:1")])
    LedgerEntryFactory(agreement=agreement, period=month(6), kind="adjustment", amount=D("1.00"))
    assert rows(agreement) == [(month(5), month(3), "adjustment", D("1.00")),
                               (month(5), month(4), "adjustment", D("1.00")),
                               (month(6), month(6), "adjustment", D("1.00"))]
    # A writer that names a locked month anyway (raw SQL) is refused whole by the database.
    with pytest.raises(IntegrityError, match="month 2026-03 is locked"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("INSERT INTO rebates_ledgerentry (agreement_id, period, concerns, kind, quantity, "
                       "eligible_amount, amount, booking_key, booked_at) VALUES (%s, %s, %s, 'adjustment', 0, 0, "
                       "1.00, 'raw:1', now()), (%s, %s, %s, 'adjustment', 0, 0, 1.00, 'raw:2', now())",
                       [agreement.pk, month(6), month(6), agreement.pk, month(3), month(3)])
    assert not LedgerEntry.objects.filter(booking_key__startswith="raw:").exists()
    # An entry never concerns a month after the one it is booked in.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO rebates_ledgerentry (agreement_id, period, concerns, kind, quantity, "
                       "eligible_amount, amount, booking_key, booked_at) VALUES (%s, %s, %s, 'adjustment', 0, 0, "
                       "1.00, 'raw:3', now())", [agreement.pk, month(6), month(7)])


def test_a_payout_of_a_locked_month_is_booked_in_the_first_open_month_and_settlements_still_add_up(finance):
    payer = UserFactory(username="lock-payer", role=roles.FINANCE)
    agreement, product = seed()
    accrue(datetime.date(2026, 10, 31))
    settlement = settlement_interim(agreement=agreement, through=month(6), by=finance)
    period_lock(month=month(6), by=finance, today=TODAY)
    settlement_approve(settlement=settlement, by=finance)
    settlement_pay(settlement=settlement, by=payer, paid_on=TODAY, payment_reference="CN-1")
    payout = LedgerEntry.objects.get(agreement=agreement, kind="payout")
    assert (payout.period, payout.concerns, payout.amount) == (month(7), month(6), D("-15.00"))
    # A late line for locked June lands in July, inside the open settlement period: the next interim pays it.
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(6), quantity=D("4"))
    accrue(datetime.date(2026, 10, 31))
    second = settlement_interim(agreement=agreement, through=month(9), by=finance)
    assert second.amount == D("8.50")  # July to September $7.50 and June's late $1.00
    assert Settlement.objects.filter(agreement=agreement).count() == 2


def test_a_forfeiture_for_a_locked_month_is_booked_in_the_first_open_month(finance):
    agreement, _ = seed()
    accrue(datetime.date(2026, 10, 31))
    period_lock(month=month(10), by=finance, today=TODAY)
    agreement_terminate(agreement=agreement, terminated_on=datetime.date(2026, 10, 31),
                        as_of=datetime.date(2026, 10, 31))
    forfeiture = LedgerEntry.objects.get(agreement=agreement, kind="forfeiture")
    assert (forfeiture.period, forfeiture.concerns, forfeiture.amount) == (month(11), month(10), D("-25.00"))
    assert LedgerEntry.objects.filter(agreement=agreement).aggregate(t=Sum("amount"))["t"] == D("0.00")
