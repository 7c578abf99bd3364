"""SQL of the period lock (rebates.services.period_lock, rebates.period_locks): the ledger held while a month is
locked, and the locked months a booking reads."""

from django.db import connection

from rebates.models import LedgerEntry, PeriodLock
from rebates.sql.scope import table


def ledger_hold() -> None:
    """Take the ledger in SHARE mode until this transaction ends; returns nothing. It waits for every booking
    under way to commit (or roll back) and makes every later booking wait for this transaction, so a lock
    written under it is seen by each entry booked after it commits."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table(LedgerEntry)} IN SHARE MODE")


def locked_months_for_booking() -> frozenset:
    """The months locked now (first-of-month dates), read after taking the ledger in ROW EXCLUSIVE mode until
    this transaction ends, the mode every insert takes: a lock being written (SHARE mode) is committed before
    this read, and one written after it waits for this transaction."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table(LedgerEntry)} IN ROW EXCLUSIVE MODE")
        cursor.execute(f"SELECT month FROM {table(PeriodLock)} WHERE reopened_at IS NULL")
        return frozenset(month for (month,) in cursor.fetchall())
