"""Migration 0045_settlement_currency on settlements that already exist: each one is given its agreement's
customer's currency, which finance's settlements waiting then sum by without joining the customers."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import AgreementFactory, CustomerFactory

BEFORE = [("rebates", "0044_agreement_balance_keeps_earned_months")]


@pytest.mark.django_db(transaction=True)
def test_existing_settlements_take_their_customers_currency():
    euros = AgreementFactory(number="AG-EUR", customer=CustomerFactory(code="C-EUR", currency="EUR"))
    dollars = AgreementFactory(number="AG-USD", customer=CustomerFactory(code="C-USD", currency="USD"))
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        with connection.cursor() as cursor:
            for agreement in (euros, dollars):
                cursor.execute("INSERT INTO rebates_settlement (agreement_id, period_start, period_end, interim, "
                               "accrued_total, adjustments, already_paid, amount, status, payment_reference, "
                               "created_at) VALUES (%s, '2026-01-01', '2026-03-01', FALSE, 90, 0, 0, 90, 'draft', "
                               "'', '2026-04-02T06:00:00Z')", [agreement.pk])
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        # Every app back at its latest migration, whatever came after this one.
        executor.migrate(executor.loader.graph.leaf_nodes())
    with connection.cursor() as cursor:
        cursor.execute("SELECT agreement_id, currency FROM rebates_settlement ORDER BY agreement_id")
        assert cursor.fetchall() == sorted([(euros.pk, "EUR"), (dollars.pk, "USD")])
