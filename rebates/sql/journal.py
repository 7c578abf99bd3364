"""The GL journal's SQL: the ledger's entries summed per month, kind and program, those below zero also apart,
beside the accounts and cost centre their program posts to (rebates/journal.py posts them)."""

from django.db import connection

from rebates.models import RebateAgreement, RebateProgram
from rebates.sql.scope import table

# Aggregate first, join after. Each entry's program is read from an array of every agreement's program indexed
# by the agreement's id (built once per statement, and handed to the parallel workers as it is): one array
# subscript per entry where a join would probe a hash of the agreements (built again by each worker). The
# sums, a few hundred rows, are then joined to their program's accounts. The sign is a filter, not a key: the
# part below zero posts the other way round (rebates/journal.py), the rest is the total less that part.
_JOURNAL_SQL = """
WITH programs (of_agreement) AS MATERIALIZED (
    SELECT array_agg(a.program_id ORDER BY ids.id)
    FROM generate_series(1, (SELECT max(id) FROM {agreement})) ids (id) LEFT JOIN {agreement} a ON a.id = ids.id
),
entries (period, kind, agreement_id, amount) AS ({entries}),
sums AS (
    SELECT period, kind, (SELECT of_agreement FROM programs)[agreement_id] AS program_id, sum(amount) AS amount,
           count(*) AS entries, sum(amount) FILTER (WHERE amount < 0) AS below,
           count(*) FILTER (WHERE amount < 0) AS entries_below
    FROM entries GROUP BY 1, 2, 3
)
SELECT s.period, s.kind, s.amount - COALESCE(s.below, 0), s.entries - s.entries_below, s.below, s.entries_below,
       p.gl_expense_account, p.gl_liability_account, p.gl_credit_note_account, p.cost_centre
FROM sums s JOIN {program} p ON p.id = s.program_id
"""


def journal_rows(*, entries: tuple[str, tuple]) -> list[tuple]:
    """(month, kind, sum of the entries at or above zero, their count, sum of those below zero (None when
    none), their count, expense account, liability account, credit note account, cost centre) per month, kind
    and program; one statement. `entries` is a queryset's SQL and parameters selecting (period, kind,
    agreement id, amount) of the entries a user may see."""
    sql = _JOURNAL_SQL.format(entries=entries[0], agreement=table(RebateAgreement), program=table(RebateProgram))
    with connection.cursor() as cursor:
        cursor.execute(sql, list(entries[1]))
        return cursor.fetchall()
