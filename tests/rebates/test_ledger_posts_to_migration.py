"""Migration 0041_ledger_entry_posts_to on a ledger that already holds entries: each one is given its agreement's
program and currency, through the append-only guard, which refuses updates again afterwards."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from tests.factories import AgreementFactory, CustomerFactory

BEFORE = [("rebates", "0040_import_batch_kind")]


@pytest.mark.django_db(transaction=True)
def test_existing_entries_post_to_their_agreements_program_and_currency():
    agreement = AgreementFactory(number="AG-MIGRATED", customer=CustomerFactory(code="C-EUR", currency="EUR"))
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO rebates_ledgerentry (agreement_id, period, concerns, kind, quantity, "
                           "eligible_amount, amount, booking_key, booked_at) VALUES (%s, '2026-03-01', "
                           "'2026-03-01', 'accrual', 10, 121, 2.50, 'old:1', '2026-04-02T06:00:00Z')",
                           [agreement.pk])
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        # Every app back at its latest migration, whatever came after this one.
        executor.migrate(executor.loader.graph.leaf_nodes())
    with connection.cursor() as cursor:
        cursor.execute("SELECT program_id, currency FROM rebates_ledgerentry WHERE booking_key = 'old:1'")
        assert cursor.fetchone() == (agreement.program_id, "EUR")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE rebates_ledgerentry SET currency = 'USD' WHERE booking_key = 'old:1'")
