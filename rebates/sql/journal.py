"""The GL journal's SQL: the ledger's entries summed per month, kind, program and sign, beside the accounts and
cost centre their program posts to (rebates/journal.py posts them)."""

from django.db import connection

from rebates.models import RebateProgram
from rebates.sql.scope import table

# Summed per program id (not per account texts: a narrower key), the program's accounts joined to the sums.
# `sums` may hold a key twice (the entries that carry their program and those read through their agreement):
# summed again, so each sum is posted and converted once.
_JOURNAL_SQL = """
WITH sums (period, kind, program_id, negative, amount, entries, currency) AS ({sums})
SELECT s.period, s.kind, s.amount, s.entries, p.gl_expense_account, p.gl_liability_account,
       p.gl_credit_note_account, p.cost_centre, s.currency
FROM (SELECT period, kind, program_id, negative, sum(amount) AS amount, sum(entries)::bigint AS entries, currency
      FROM sums GROUP BY period, kind, program_id, negative, currency) s
JOIN {program} p ON p.id = s.program_id
"""


def journal_rows(*, sums: tuple[str, tuple]) -> list[tuple]:
    """(month, kind, amount, entries, expense account, liability account, credit note account, cost centre,
    currency), one statement. `sums` is a queryset's SQL and parameters over the entries a user may see,
    selecting (period, kind, program id, negative, amount, entries, currency): the entries' sum and count per
    month, kind, program, sign (entries below zero apart) and currency, a key possibly on more than one row."""
    with connection.cursor() as cursor:
        cursor.execute(_JOURNAL_SQL.format(sums=sums[0], program=table(RebateProgram)), list(sums[1]))
        return cursor.fetchall()
