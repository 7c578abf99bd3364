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
# What a bucket's months earned is the difference of two of the balance's running sums (`earned_cents`, one
# element per month from its first earning month to its last): before the first the sum is 0, after the last it
# stays at the last. Everything is in integer cents (exact: the ledger's amounts have two places), the groups' sums
# and their conversions too: the client makes amounts of them only where they are shown (rebates/aging.py).
# OFFSET 0 keeps each step where it is written: each running sum is read once per balance rather than in every
# expression that uses it (a quarter of the statement's time), and the balances are sorted by their group's key
# before they are summed, so each group's four sums are made one group after the other (cheaper than a hash of
# thousands of groups).
_THROUGH = "CASE WHEN earned IS NULL OR {month} < lo THEN 0 WHEN {month} > hi THEN earned[hi] ELSE earned[{month}] END"
_AGED_SQL = """
WITH balances (key, currency, unpaid, earned) AS ({balances}),
spans AS (
    SELECT key, currency, (unpaid * 100)::bigint AS unpaid, earned, array_lower(earned, 1) AS lo,
           array_upper(earned, 1) AS hi
    FROM balances
),
through AS (
    SELECT key, currency, unpaid, COALESCE(earned[hi], 0) AS t, {through0} AS t0, {through1} AS t1,
           {through2} AS t2
    FROM spans OFFSET 0
),
held AS (
    SELECT key, currency, unpaid, GREATEST(t - t0, 0) AS c0, GREATEST(t - t0, 0) + GREATEST(t0 - t1, 0) AS c1,
           GREATEST(t - t0, 0) + GREATEST(t0 - t1, 0) + GREATEST(t1 - t2, 0) AS c2
    FROM through OFFSET 0
),
grouped AS (
    SELECT key{by}, sum(LEAST(unpaid, c0))::bigint AS s0, sum(LEAST(unpaid, c1))::bigint AS s1,
           sum(LEAST(unpaid, c2))::bigint AS s2, sum(unpaid)::bigint AS unpaid
    FROM (SELECT * FROM held ORDER BY key{by} OFFSET 0) sorted GROUP BY key{by}
),
aged AS (
    SELECT grouped.key, COALESCE({code}, '—') AS code, COALESCE({name}, '') AS name, {currency} AS currency,
           s0 AS a0, s1 - s0 AS a1, s2 - s1 AS a2, unpaid - s2 AS a3, unpaid
    FROM grouped LEFT JOIN {named} g ON g.id = grouped.key
)
SELECT key, code, name, currency, a0, a1, a2, a3, unpaid, currency = %s,
       (%s::numeric[])[array_position(%s::varchar[], currency)]
FROM aged
ORDER BY unpaid DESC, code, currency
"""


def aged_liability_rows(*, balances: tuple[str, tuple], through: tuple[int, int, int], group: str,
                        reporting_currency: str, rates: dict) -> list[tuple]:
    """Per `group` ("customer", "program" or "manager"; a manager row is the manager's user, None for
    customers without one) and currency: (key, code ("—" when none), name ("" when none), currency, unpaid in
    the youngest bucket, the second, the third, the oldest, total, whether the currency is
    `reporting_currency`, and for a currency in `rates` ({currency: rate into the reporting currency}) its
    rate (else NULL)), the largest total first; one statement. The five figures are integer cents.

    `balances` is a queryset's SQL and parameters over what a user may see, selecting (key, currency, unpaid,
    earned_cents) of each agreement's balance (unpaid not zero): its group's key, its currency (any constant when
    grouped per customer: the customer's own is read), its unpaid balance and its running sums of what it earned
    (AgreementBalance.earned_cents). `through` holds the subscripts of the last months before the youngest, the
    second and the third bucket (year * 12 + month - 1)."""
    named, code, name, currency, by = GROUPS[group]
    tables = {"customer": table(Customer), "program": table(RebateProgram), "user": table(get_user_model())}
    months = [_THROUGH.format(month=int(month)) for month in through]
    sql = _AGED_SQL.format(balances=balances[0], through0=months[0], through1=months[1], through2=months[2],
                           code=code, name=name, currency=currency, by=by, named=named.format(**tables))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*balances[1], reporting_currency, list(rates.values()), list(rates)])
        return cursor.fetchall()
