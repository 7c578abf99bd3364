"""What the database itself refuses: duplicates, impossible dates, and any change to a booked entry."""

import datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from rebates.models import LedgerEntry, PurchaseLine, TierBand
from rebates.querysets import LedgerIsAppendOnly
from tests.factories import (
    AgreementFactory,
    LedgerEntryFactory,
    PerUnitRuleFactory,
    ProductFactory,
    PurchaseLineFactory,
)

pytestmark = pytest.mark.django_db


def test_duplicate_erp_line_id_is_refused_by_the_database():
    line = PurchaseLineFactory(erp_line_id="ERP-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        PurchaseLine.objects.bulk_create([PurchaseLine(
            erp_line_id="ERP-1", customer=line.customer, product=line.product, month=line.month,
            quantity=Decimal("1"), unit_price=Decimal("1"), amount=Decimal("1"),
        )])
    assert PurchaseLine.objects.filter(erp_line_id="ERP-1").count() == 1


def test_purchase_month_must_be_the_first_of_a_month():
    with pytest.raises(IntegrityError), transaction.atomic():
        PurchaseLineFactory(month=datetime.date(2026, 3, 15))


def test_agreement_term_must_end_after_it_starts():
    with pytest.raises(IntegrityError), transaction.atomic():
        AgreementFactory(start_month=datetime.date(2026, 6, 1), end_month=datetime.date(2026, 1, 1))


def test_duplicate_agreement_number_is_refused():
    AgreementFactory(number="AG-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        AgreementFactory(number="AG-1")


def test_duplicate_sku_is_refused():
    ProductFactory(sku="W-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductFactory(sku="W-1")


def test_two_bands_at_the_same_threshold_are_refused():
    rule = PerUnitRuleFactory(kind="tiered", tier_basis="quantity", tier_method="retroactive", rate=None)
    TierBand.objects.create(rule=rule, threshold=0, rate=Decimal("1"))
    with pytest.raises(IntegrityError), transaction.atomic():
        TierBand.objects.create(rule=rule, threshold=0, rate=Decimal("2"))


def test_tiered_rule_without_basis_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        PerUnitRuleFactory(kind="tiered", tier_basis="", tier_method="retroactive", rate=None)


def test_payout_entry_cannot_be_positive():
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntryFactory(kind=LedgerEntry.Kind.FORFEITURE, amount=Decimal("5.00"))


def test_same_booking_key_cannot_be_booked_twice():
    LedgerEntryFactory(booking_key="run:1:AG-1:2026-01:accrual")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntryFactory(booking_key="run:1:AG-1:2026-01:accrual")


def test_ledger_entry_cannot_be_changed_through_the_orm():
    entry = LedgerEntryFactory(amount=Decimal("2.50"))
    entry.amount = Decimal("99.00")
    with pytest.raises(LedgerIsAppendOnly):
        entry.save()
    with pytest.raises(LedgerIsAppendOnly):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=Decimal("99.00"))
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("2.50")


def test_ledger_entry_cannot_be_deleted_through_the_orm():
    entry = LedgerEntryFactory()
    with pytest.raises(LedgerIsAppendOnly):
        entry.delete()
    with pytest.raises(LedgerIsAppendOnly):
        LedgerEntry.objects.filter(pk=entry.pk).delete()
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_agreement_with_ledger_entries_cannot_be_deleted():
    from django.db.models import ProtectedError

    entry = LedgerEntryFactory()
    with pytest.raises(ProtectedError), transaction.atomic():
        entry.agreement.delete()


def test_postgresql_trigger_refuses_update_and_delete_of_ledger_entries():
    assert connection.vendor == "postgresql", "the suite must run on PostgreSQL (make test starts it)"
    entry = LedgerEntryFactory(amount=Decimal("2.50"))
    for sql in (
        "UPDATE rebates_ledgerentry SET amount = 99 WHERE id = %s",
        "DELETE FROM rebates_ledgerentry WHERE id = %s",
    ):
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [entry.pk])
    with connection.cursor() as cursor:
        cursor.execute("SELECT amount FROM rebates_ledgerentry WHERE id = %s", [entry.pk])
        assert cursor.fetchone()[0] == Decimal("2.50")


# Committed rows (a transactional test): TRUNCATE refuses a table with deferred checks pending.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("sql", ["TRUNCATE rebates_ledgerentry", "TRUNCATE rebates_rebateagreement CASCADE"])
def test_postgresql_trigger_refuses_truncate_of_the_ledger(sql):
    entry = LedgerEntryFactory(amount=Decimal("2.50"))
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    with connection.cursor() as cursor:
        cursor.execute("SELECT amount FROM rebates_ledgerentry WHERE id = %s", [entry.pk])
        assert cursor.fetchone()[0] == Decimal("2.50")
