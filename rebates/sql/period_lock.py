"""SQL of the period lock (rebates.services.period_lock): holding the ledger while a month is locked."""

from django.db import connection

from rebates.models import LedgerEntry
from rebates.sql.scope import table


def ledger_hold() -> None:
    """Take the ledger in SHARE mode until this transaction ends; returns nothing. It waits for every booking
    under way to commit (or roll back) and makes every later booking wait for this transaction, so a lock
    written under it is seen by each entry booked after it commits."""
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table(LedgerEntry)} IN SHARE MODE")
