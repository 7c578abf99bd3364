"""SQL of the accrual marks (rebates.services.accrual): what the changes marked by the triggers of migration
0010_accrual_mark_triggers ask the next run to recompute, and their consumption once a run has succeeded.

A run reads the marks its snapshot (`marks_snapshot`) sees: those of transactions committed before it. It
deletes exactly those when it succeeds, so a mark committed meanwhile waits for the next run, and a run that
fails deletes nothing. With no snapshot (None) the reads see every mark committed so far.
"""

from datetime import date

from django.db import OperationalError, connection, transaction

from rebates.models import AccrualMark, BonusCondition, RebateAgreement, RebateRule
from rebates.sql.scope import covers_sql, table


def _visible(snapshot: str | None) -> tuple[str, list]:
    """SQL true for a mark (alias m) that `snapshot` sees: committed before it was taken, or written by the
    transaction that took it (when the run is prepared in the writer's own transaction)."""
    if snapshot is None:
        return "TRUE", []
    xact, _, taken = snapshot.partition("/")
    return "(pg_visible_in_snapshot(m.xact::text::xid8, %s::pg_snapshot) OR m.xact = %s)", [taken, int(xact)]


def current_snapshot() -> str:
    """A token naming the marks visible now: this transaction's id and the database's current snapshot
    ("<xact>/<pg_snapshot>"); the functions here read and consume exactly the marks it sees."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_xact_id()::text || '/' || pg_current_snapshot()::text")
        return cursor.fetchone()[0]


_MARKED_AGREEMENTS_SQL = """
SELECT DISTINCT m.agreement_id FROM {mark} m JOIN {agreement} a ON a.id = m.agreement_id
WHERE {visible} AND a.status = ANY(%s::text[]) AND a.start_month <= %s
"""


def marked_agreement_ids(*, snapshot: str | None, statuses: list[str], started_by: date) -> list[int]:
    """The ids of the agreements with one of `statuses`, started by `started_by`, marked to be recomputed
    over their whole term (their terms, scope, rule, prices, status or customer's status changed)."""
    visible, params = _visible(snapshot)
    sql = _MARKED_AGREEMENTS_SQL.format(mark=table(AccrualMark), agreement=table(RebateAgreement), visible=visible)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, list(statuses), started_by])
        return [pk for (pk,) in cursor.fetchall()]


# Each (agreement, month) a marked purchase cell counts for: the agreement's customer, the scope rule over
# the product line the mark names (a product moved to another line is marked under both), and on top of it a
# launch-bonus product, or for a rule measured against last year a month before the term (the caller keeps
# only the year before).
_MARKED_CELLS_SQL = """
SELECT DISTINCT a.id, a.start_month, r.baseline, m.month
FROM {mark} m
JOIN {agreement} a ON a.customer_id = m.customer_id
JOIN {rule} r ON r.agreement_id = a.id
WHERE m.customer_id IS NOT NULL AND {visible} AND a.status = ANY(%s::text[]) AND a.start_month <= %s
  AND {covers}
"""


def marked_cell_rows(*, snapshot: str | None, statuses: list[str], started_by: date) -> list[tuple]:
    """(agreement id, its start month, its rule's baseline, month): each agreement with one of `statuses`,
    started by `started_by`, that a marked purchase cell counts for, with the cell's month; once per
    agreement and month."""
    visible, params = _visible(snapshot)
    sql = _MARKED_CELLS_SQL.format(
        mark=table(AccrualMark), agreement=table(RebateAgreement), rule=table(RebateRule), visible=visible,
        covers=covers_sql(product="m.product_id", product_line="m.product_line_id", month="m.month",
                          or_before_term="r.baseline = 'last_year'",
                          or_product=(f"EXISTS (SELECT 1 FROM {table(BonusCondition)} b "
                                      f"WHERE b.rule_id = r.id AND b.product_id = m.product_id)")),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, list(statuses), started_by])
        return cursor.fetchall()


def marks_consume(*, snapshot: str) -> int:
    """Delete the marks `snapshot` sees (a run has recomputed what they asked for); returns how many.

    When the run saw every mark there is, the table is emptied by TRUNCATE in this transaction: one cheap
    step instead of a row deleted (and later vacuumed) per mark, which leaves the next runs' reads of the
    marks a table with no dead rows to walk. TRUNCATE needs the table to itself: it is tried without waiting
    (a writer with its marks still uncommitted holds the table), and under that lock a mark the snapshot does
    not see (committed since) means some must stay, so only the seen ones are deleted. A transaction that
    rolls back undoes the TRUNCATE too.
    """
    visible, params = _visible(snapshot)
    mark = table(AccrualMark)
    with connection.cursor() as cursor:
        if _lock_without_waiting(cursor, mark):
            cursor.execute(f"SELECT count(*) FILTER (WHERE {visible}), count(*) FROM {mark} m", params)
            seen, present = cursor.fetchone()
            if seen == present:
                cursor.execute(f"TRUNCATE {mark}")
                return seen
        cursor.execute(f"DELETE FROM {mark} m WHERE {visible}", params)
        return cursor.rowcount


def _lock_without_waiting(cursor, name: str) -> bool:
    """Take table `name` for this transaction alone (ACCESS EXCLUSIVE) if no one else holds it; False
    otherwise, with this transaction unharmed (the attempt is rolled back to its savepoint)."""
    try:
        with transaction.atomic():
            cursor.execute(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE NOWAIT")
    except OperationalError:
        return False
    return True
