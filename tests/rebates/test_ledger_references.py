"""The ledger's references (agreement, accrual run, settlement) are kept by the database, checked once per INSERT
statement: an entry naming a row that does not exist is refused with the whole statement, and a row the ledger
names cannot be deleted (migration rebates/0035)."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction

from rebates.models import AccrualRun, LedgerEntry
from tests.factories import AgreementFactory, LedgerEntryFactory

MONTH = datetime.date(2026, 3, 1)
INSERT = """INSERT INTO rebates_ledgerentry (agreement_id, period, concerns, kind, quantity, eligible_amount, amount,
                                            accrual_run_id, settlement_id, booking_key, booked_at)
            VALUES (%s, %s, %s, %s, 0, 0, %s, %s, %s, %s, now()),
                   (%s, %s, %s, 'accrual', 0, 0, 1, NULL, NULL, %s, now())"""


def insert_two(*, agreement_id, valid_agreement_id, run_id=None, settlement_id=None, kind="accrual", amount=1):
    """One INSERT of two entries: the one under test, and one naming a valid agreement."""
    with connection.cursor() as cursor:
        cursor.execute(INSERT, [agreement_id, MONTH, MONTH, kind, amount, run_id, settlement_id, "test:one",
                                valid_agreement_id, MONTH, MONTH, "test:two"])


@pytest.mark.parametrize("missing", ["agreement", "run", "settlement"])
def test_an_insert_naming_a_missing_row_is_refused_whole(db, missing):
    agreement = AgreementFactory()
    names = {"agreement": {"agreement_id": agreement.pk + 1000},
             "run": {"agreement_id": agreement.pk, "run_id": 987654},
             "settlement": {"agreement_id": agreement.pk, "settlement_id": 987654, "kind": "payout", "amount": -1}}
    with pytest.raises(IntegrityError, match=f"names an? {'accrual run' if missing == 'run' else missing}"):
        with transaction.atomic():
            insert_two(valid_agreement_id=agreement.pk, **names[missing])
    assert not LedgerEntry.objects.exists()


def test_an_insert_naming_existing_rows_is_stored(db):
    agreement = AgreementFactory()
    run = AccrualRun.objects.create(trigger=AccrualRun.Trigger.COMMAND, as_of=datetime.date(2026, 3, 31))
    insert_two(agreement_id=agreement.pk, valid_agreement_id=agreement.pk, run_id=run.pk)
    assert LedgerEntry.objects.filter(agreement=agreement).count() == 2
    assert LedgerEntry.objects.filter(accrual_run=run).count() == 1


@pytest.mark.parametrize("named", ["agreement", "accrual_run"])
def test_a_row_the_ledger_names_cannot_be_deleted_even_in_sql(db, named):
    run = AccrualRun.objects.create(trigger=AccrualRun.Trigger.COMMAND, as_of=datetime.date(2026, 3, 31))
    entry = LedgerEntryFactory(accrual_run=run)
    target = getattr(entry, named)
    with pytest.raises(IntegrityError, match="cannot be deleted"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {type(target)._meta.db_table} WHERE id = %s", [target.pk])
    assert type(target).objects.filter(pk=target.pk).exists()


def test_a_row_the_ledger_does_not_name_can_be_deleted(db):
    unused = AgreementFactory()
    LedgerEntryFactory()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM rebates_rebateagreement WHERE id = %s", [unused.pk])
    assert not type(unused).objects.filter(pk=unused.pk).exists()
