"""The aged liability's SQL: each agreement's unpaid rebate spread over the age buckets of the months that
earned it, newest first (rebates/aging.py says the rule), summed per customer, program or account manager."""

from django.contrib.auth import get_user_model
from django.db import connection

from customers.models import Customer
from rebates.models import RebateProgram
from rebates.sql.scope import table

# The table a group's key names, the group's code and name in it, where the row's currency is read (a
# customer's own: its agreements all book in it; else the agreements' as the balances carry it) and what the
# sums are grouped by besides the key.
GROUPS = {
    "customer": ("{customer}", "g.code", "g.name", "g.currency", ""),
    "program": ("{program}", "g.code", "g.name", "grouped.currency", ", currency"),
    "manager": ("{user}", "g.username", "trim(concat_ws(' ', g.first_name, g.last_name))", "grouped.currency",
                ", currency"),
}

# Newest bucket first, each holds at most what its months earned (never below zero) until the unpaid balance
# is spent; what is left over sits in the oldest. With c0 <= c1 <= c2 what the youngest one, two and three
# buckets may hold (each at least zero), the youngest k buckets hold LEAST(unpaid, c(k-1)) in all: a bucket is
# the difference of two such sums, the oldest what the three youngest leave. A balance below zero is below
# every c, so it shows whole in the youngest bucket.
# The agreements are sorted by their group's key before they are summed (OFFSET 0 keeps the sort where it is
# written), so each group's four sums are made one group after the other: summed in a hash, the thousands of
# groups' numeric sums outgrow work_mem and spill to disk, which took 13% more of the statement's time.
_AGED_SQL = """
WITH balances (agreement_id, key, currency, unpaid) AS ({balances}),
earned (agreement_id, e0, e1, e2) AS ({earned}),
held AS (
    SELECT b.key, b.currency, b.unpaid, GREATEST(e.e0, 0) AS c0, GREATEST(e.e0, 0) + GREATEST(e.e1, 0) AS c1,
           GREATEST(e.e0, 0) + GREATEST(e.e1, 0) + GREATEST(e.e2, 0) AS c2
    FROM balances b LEFT JOIN earned e ON e.agreement_id = b.agreement_id
),
grouped AS (
    SELECT key{by}, sum(LEAST(unpaid, c0)) AS s0, sum(LEAST(unpaid, c1)) AS s1, sum(LEAST(unpaid, c2)) AS s2,
           sum(unpaid) AS unpaid
    FROM (SELECT * FROM held ORDER BY key{by} OFFSET 0) sorted GROUP BY key{by}
),
aged AS (
    SELECT grouped.key, COALESCE({code}, '—') AS code, COALESCE({name}, '') AS name, {currency} AS currency,
           s0 AS a0, s1 - s0 AS a1, s2 - s1 AS a2, unpaid - s2 AS a3, unpaid
    FROM grouped LEFT JOIN {named} g ON g.id = grouped.key
)
SELECT aged.key, code, name, aged.currency, a0, a1, a2, a3, unpaid, aged.currency = %s,
       CASE WHEN r.rate IS NOT NULL THEN ARRAY[round(a0 * r.rate, 2), round(a1 * r.rate, 2), round(a2 * r.rate, 2),
           round(a3 * r.rate, 2), round(a0 * r.rate, 2) + round(a1 * r.rate, 2) + round(a2 * r.rate, 2)
           + round(a3 * r.rate, 2)] END
FROM aged LEFT JOIN unnest(%s::varchar[], %s::numeric[]) r (currency, rate) ON r.currency = aged.currency
ORDER BY unpaid DESC, code, aged.currency
"""


def aged_liability_rows(*, balances: tuple[str, tuple], earned: tuple[str, tuple], group: str,
                        reporting_currency: str, rates: dict) -> list[tuple]:
    """Per `group` ("customer", "program" or "manager"; a manager row is the manager's user, None for
    customers without one) and currency: (key, code ("—" when none), name ("" when none), currency, unpaid in
    the youngest bucket, the second, the third, the oldest, total, whether the currency is
    `reporting_currency`, and for a currency in `rates` ({currency: rate into the reporting currency}) the
    four buckets at that rate and their sum (else NULL)), the largest total first; one statement.

    `balances` and `earned` are querysets' SQL and parameters over what a user may see: `balances` selects
    (agreement_id, key, currency, unpaid), each agreement's unpaid balance (not zero), its group's key and its
    currency (any constant when grouped per customer: the customer's own is read); `earned` selects
    (agreement_id, e0, e1, e2), what each agreement earned in the months of the three youngest buckets (NULL
    where nothing). Each converted figure is rounded half-up to the cent (PostgreSQL's round of a numeric rounds
    half away from zero, as rebates.currencies.convert_amount does)."""
    named, code, name, currency, by = GROUPS[group]
    tables = {"customer": table(Customer), "program": table(RebateProgram), "user": table(get_user_model())}
    sql = _AGED_SQL.format(balances=balances[0], earned=earned[0], code=code, name=name, currency=currency, by=by,
                           named=named.format(**tables))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*balances[1], *earned[1], reporting_currency, list(rates), list(rates.values())])
        return cursor.fetchall()
