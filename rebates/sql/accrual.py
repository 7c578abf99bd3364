"""SQL of the accrual run (rebates.services.accrual): the ledger per month, the oldest open transaction and
the lock that serialises starting runs. What changed since the last run is in rebates.sql.marks."""

from datetime import date, timedelta

from django.db import connection

from rebates.models import AgreementBalance, LedgerEntry, RebateAgreement
from rebates.sql.scope import table
from rebates.sql.terms import array_literal

# Agreement by agreement through the (agreement, period, kind) index (OFFSET 0 keeps the subquery per agreement):
# a full run books the ledger while it reads it, and statistics taken when it was nearly empty would have every
# chunk read the whole of it.
_BOOKED_SQL = """
SELECT w.agreement_id, e.concerns, SUM(e.quantity), SUM(e.eligible_amount), SUM(e.amount)
FROM (SELECT DISTINCT * FROM unnest(%s::bigint[], %s::date[], %s::date[])
      AS u (agreement_id, first_month, last_month)) w
CROSS JOIN LATERAL (SELECT concerns, quantity, eligible_amount, amount FROM {ledger}
                    WHERE agreement_id = w.agreement_id AND period >= w.first_month
                    AND concerns BETWEEN w.first_month AND w.last_month AND kind = ANY(%s::text[]) OFFSET 0) e
GROUP BY w.agreement_id, e.concerns
"""

# Bounds that hold every month: an agreement read over its whole ledger.
_EVERY_MONTH = (date(1, 1, 1), date(9999, 12, 1))


def booked_rows(agreement_ids: list[int], kinds: list[str], months=None) -> list[tuple]:
    """(agreement id, month, quantity, eligible amount, amount): the sums of the agreements' ledger entries
    of these kinds per agreement and the month they concern (a locked month's late difference is booked in a
    later month but still counts for its own). `months` maps an agreement to the (first, last) months to read
    (those it concerns); an agreement not in it is read whole. An entry is never booked before the month it
    concerns, so the (agreement, period) index bounds each read from below."""
    months = months or {}
    bounds = [months.get(pk, _EVERY_MONTH) for pk in agreement_ids]
    with connection.cursor() as cursor:
        cursor.execute(_BOOKED_SQL.format(ledger=table(LedgerEntry)),
                       [array_literal(agreement_ids), array_literal(first for first, _ in bounds),
                        array_literal(last for _, last in bounds), list(kinds)])
        return cursor.fetchall()


_LOCK_AGREEMENTS_SQL = """
SELECT id FROM {agreement} WHERE id = ANY(%s::bigint[]) AND status = ANY(%s::text[]) ORDER BY id FOR UPDATE
"""


def agreements_lock(agreement_ids: list[int], statuses: list[str]) -> list[int]:
    """Lock those of these agreements with one of `statuses` in primary-key order, as every writer of their
    ledger does; their ids in that order. One array parameter: a chunk names hundreds."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_AGREEMENTS_SQL.format(agreement=table(RebateAgreement)),
                       [array_literal(agreement_ids), list(statuses)])
        return [pk for (pk,) in cursor.fetchall()]


def oldest_transaction_age() -> timedelta | None:
    """How long the oldest transaction of another client session of this database had been open when this
    statement began; None when there is none. Both instants are the database's own stamps in
    pg_stat_activity (the others' transaction starts, this statement's start): an age, with no clock read."""
    with connection.cursor() as cursor:
        # Client sessions only: an autovacuum worker has a transaction too, but never writes a purchase.
        cursor.execute("SELECT (SELECT query_start FROM pg_stat_activity WHERE pid = pg_backend_pid()) "
                       "- min(xact_start) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
                       "AND backend_type = 'client backend'")
        return cursor.fetchone()[0]


def transaction_lock(key: int) -> None:
    """Wait for and take the advisory lock `key` until this transaction ends; returns nothing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


# The running sums of what each agreement earned per month (AgreementBalance.earned_cents) are compared too,
# rebuilt from the entries as the ledger's trigger builds them, and the customer each balance carries with its
# agreement's (migration 0043).
_BALANCES_OUT_OF_STEP_SQL = """
SELECT COALESCE(b.agreement_id, e.agreement_id), COALESCE(b.unpaid, 0), COALESCE(e.unpaid, 0)
FROM {balance} b
FULL JOIN (SELECT agreement_id, SUM(accrued) AS accrued, SUM(paid) AS paid, SUM(forfeited) AS forfeited,
                  SUM(unpaid) AS unpaid,
                  rebates_earned_cumulative(array_agg(month ORDER BY month) FILTER (WHERE earned IS NOT NULL),
                                            array_agg(earned ORDER BY month) FILTER (WHERE earned IS NOT NULL))
                      AS earned_cents
           FROM (SELECT agreement_id, rebates_month_subscript(period) AS month,
                        SUM(amount) FILTER (WHERE kind IN ('accrual', 'catch_up', 'adjustment')) AS accrued,
                        -SUM(amount) FILTER (WHERE kind = 'payout') AS paid,
                        -SUM(amount) FILTER (WHERE kind = 'forfeiture') AS forfeited,
                        SUM(amount) AS unpaid,
                        (SUM(amount) FILTER (WHERE kind IN ('accrual', 'catch_up', 'adjustment')) * 100)::bigint
                            AS earned
                 FROM {ledger} GROUP BY agreement_id, period) months
           GROUP BY agreement_id) e ON e.agreement_id = b.agreement_id
LEFT JOIN {agreement} a ON a.id = b.agreement_id
WHERE (b.accrued, b.paid, b.forfeited, b.unpaid, b.earned_cents)
      IS DISTINCT FROM (COALESCE(e.accrued, 0), COALESCE(e.paid, 0), COALESCE(e.forfeited, 0), COALESCE(e.unpaid, 0),
                        e.earned_cents)
   OR b.customer_id IS DISTINCT FROM a.customer_id
ORDER BY 1
"""


def balances_out_of_step() -> list[tuple]:
    """(agreement id, unpaid kept in its balance, unpaid summed over its entries) of every agreement whose
    kept balance (accrued, paid, forfeited, unpaid or what it earned up to each month) differs from the sums of
    its ledger entries, or whose balance names another customer than the agreement; [] when all agree. One pass
    over the ledger."""
    sql = _BALANCES_OUT_OF_STEP_SQL.format(balance=table(AgreementBalance), ledger=table(LedgerEntry),
                                           agreement=table(RebateAgreement))
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()
