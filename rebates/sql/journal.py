"""The GL journal's SQL: the ledger's entries summed per month, kind, program, currency and sign, beside the
accounts and cost centre their program posts to (rebates/journal.py posts them)."""

from django.db import connection

from rebates.models import RebateProgram
from rebates.sql.scope import table

# Summed per program id (not per account texts: a narrower key), the program's accounts joined to the sums.
# `sums` holds a key more than once (all the entries, and those below zero apart; the entries that carry their
# program and those read through their agreement): summed again, so each sum is posted and converted once. A key
# without a program or currency sums entries that carry none, which `sums` also holds under their agreement's:
# left out after summing (MATERIALIZED, so the filter is not pushed down to every entry). Each key's entries
# below zero and the others (zero and above) become a row each, as their postings differ; a part without
# entries gives none.
_JOURNAL_SQL = """
WITH sums (period, kind, program_id, currency, below, below_entries, amount, entries) AS MATERIALIZED ({sums}),
summed AS (
    SELECT period, kind, program_id, currency, COALESCE(sum(below), 0) AS below,
           sum(below_entries)::bigint AS below_entries, sum(amount) AS amount, sum(entries)::bigint AS entries
    FROM sums WHERE program_id IS NOT NULL AND currency IS NOT NULL GROUP BY period, kind, program_id, currency
)
SELECT s.period, s.kind, part.amount, part.entries, p.gl_expense_account, p.gl_liability_account,
       p.gl_credit_note_account, p.cost_centre, s.currency
FROM summed s
CROSS JOIN LATERAL (VALUES (s.below, s.below_entries), (s.amount - s.below, s.entries - s.below_entries))
    part (amount, entries)
JOIN {program} p ON p.id = s.program_id
WHERE part.entries > 0
"""


def journal_rows(*, sums: tuple[str, tuple]) -> list[tuple]:
    """(month, kind, amount, entries, expense account, liability account, credit note account, cost centre,
    currency), one statement. `sums` is a queryset's SQL and parameters over the entries a user may see,
    selecting (period, kind, program id, currency, below, below entries, amount, entries): per month, kind,
    program and currency (a key on more than one row is summed; one without a program or currency is left out),
    the sum and count of entries below zero and of entries (each part of a key's entries on rows of its own, 0
    in the other columns). A row of the answer sums a key's entries below zero, or the others."""
    with connection.cursor() as cursor:
        cursor.execute(_JOURNAL_SQL.format(sums=sums[0], program=table(RebateProgram)), list(sums[1]))
        return cursor.fetchall()
