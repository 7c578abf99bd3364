"""SQL of the accrual run (rebates.services.accrual): the ledger per month, the months changed purchases
count for, the oldest open transaction and the lock that serialises starting runs."""

from datetime import date, datetime, timedelta

from django.db import connection

from rebates.models import BonusCondition, LedgerEntry, Product, PurchaseLine, RebateAgreement, RebateRule
from rebates.sql.scope import covers_sql, table

_BOOKED_SQL = """
SELECT agreement_id, period, SUM(quantity), SUM(eligible_amount), SUM(amount) FROM {ledger}
WHERE agreement_id = ANY(%s::bigint[]) AND kind = ANY(%s::text[])
GROUP BY agreement_id, period
"""


def booked_rows(agreement_ids: list[int], kinds: list[str]) -> list[tuple]:
    """(agreement id, period, quantity, eligible amount, amount): the sums of the agreements' ledger entries
    of these kinds per agreement and month."""
    with connection.cursor() as cursor:
        cursor.execute(_BOOKED_SQL.format(ledger=table(LedgerEntry)), [list(agreement_ids), list(kinds)])
        return cursor.fetchall()


# Each (agreement, month) that a purchase line changed since a moment counts for: the agreement's customer,
# the scope rule, and on top of it a launch-bonus product, or for a rule measured against last year a month
# before the term (the caller keeps only the year before).
_CHANGED_MONTHS_SQL = """
SELECT DISTINCT a.id, a.start_month, r.baseline, pl.month
FROM {purchase} pl
JOIN {agreement} a ON a.customer_id = pl.customer_id
JOIN {rule} r ON r.agreement_id = a.id
JOIN {product} pr ON pr.id = pl.product_id
WHERE pl.updated_at >= %s AND a.status = ANY(%s::text[]) AND a.start_month <= %s
  AND {covers}
"""


def changed_line_rows(*, since: datetime, statuses: list[str], started_by: date) -> list[tuple]:
    """(agreement id, its start month, its rule's baseline, month): each agreement with one of `statuses`,
    started by `started_by`, that a purchase line changed since `since` counts for, with the month of that
    line; once per agreement and month."""
    sql = _CHANGED_MONTHS_SQL.format(
        purchase=table(PurchaseLine), agreement=table(RebateAgreement), rule=table(RebateRule),
        product=table(Product),
        covers=covers_sql(or_before_term="r.baseline = 'last_year'",
                          or_product=(f"EXISTS (SELECT 1 FROM {table(BonusCondition)} b "
                                      f"WHERE b.rule_id = r.id AND b.product_id = pl.product_id)")),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [since, list(statuses), started_by])
        return cursor.fetchall()


def oldest_transaction_age() -> timedelta | None:
    """How long the oldest transaction of another client session of this database has been open (by the
    database's clock); None when there is none."""
    with connection.cursor() as cursor:
        # Client sessions only: an autovacuum worker has a transaction too, but never writes a purchase.
        cursor.execute("SELECT clock_timestamp() - min(xact_start) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
                       "AND backend_type = 'client backend'")
        return cursor.fetchone()[0]


def transaction_lock(key: int) -> None:
    """Wait for and take the advisory lock `key` until this transaction ends; returns nothing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
