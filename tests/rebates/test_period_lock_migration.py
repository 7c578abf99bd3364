"""Migration 0033_period_lock on a ledger that already holds entries: each one concerns its own month."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import AgreementFactory

BEFORE = [("rebates", "0032_referral_rule_kind")]


@pytest.mark.django_db(transaction=True)
def test_existing_entries_concern_the_month_they_were_booked_in():
    agreement = AgreementFactory(number="AG-MIGRATED")
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO rebates_ledgerentry (agreement_id, period, kind, quantity, eligible_amount, "
                           "amount, booking_key, booked_at) VALUES (%s, '2026-03-01', 'accrual', 10, 121, 2.50, "
                           "'old:1', now())", [agreement.pk])
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        # Every app back at its latest migration, whatever came after this one.
        executor.migrate(executor.loader.graph.leaf_nodes())
    with connection.cursor() as cursor:
        cursor.execute("SELECT period, concerns FROM rebates_ledgerentry WHERE booking_key = 'old:1'")
        period, concerns = cursor.fetchone()
    assert period == concerns
