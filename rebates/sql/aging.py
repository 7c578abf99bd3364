"""The aged liability's SQL: each agreement's unpaid rebate spread over the age buckets of the months that
earned it, newest first (rebates/aging.py says the rule), summed per customer, program or account manager."""

from django.contrib.auth import get_user_model
from django.db import connection

from customers.models import Customer
from rebates.models import RebateAgreement, RebateProgram
from rebates.sql.scope import table

# What a row is grouped by: the key of each agreement's group, and the group's code and name by that key.
GROUPS = {
    "customer": ("a.customer_id", "{customer}", "g.code", "g.name"),
    "program": ("a.program_id", "{program}", "g.code", "g.name"),
    "manager": ("c.account_manager_id", "{user}", "g.username", "trim(concat_ws(' ', g.first_name, g.last_name))"),
}

_AGED_SQL = """
WITH cells AS ({balances}),
balances AS (
    SELECT agreement_id, sum(amount) AS unpaid, COALESCE(sum(amount) FILTER (WHERE bucket = 0), 0) AS e0,
           COALESCE(sum(amount) FILTER (WHERE bucket = 1), 0) AS e1,
           COALESCE(sum(amount) FILTER (WHERE bucket = 2), 0) AS e2
    FROM cells GROUP BY agreement_id
),
held AS (
    -- Newest bucket first, each holds at most what its months earned (never below zero) until the unpaid
    -- balance is spent; what is left over sits in the oldest. A balance below zero shows in the youngest.
    SELECT agreement_id, unpaid,
           CASE WHEN unpaid <= 0 THEN unpaid ELSE LEAST(unpaid, GREATEST(e0, 0)) END AS a0,
           GREATEST(e1, 0) AS p1, GREATEST(e2, 0) AS p2
    FROM balances WHERE unpaid <> 0
),
spread AS (
    SELECT agreement_id, unpaid, a0,
           CASE WHEN unpaid <= 0 THEN 0 ELSE LEAST(unpaid - a0, p1) END AS a1, p2
    FROM held
),
aged AS (
    SELECT agreement_id, a0, a1,
           CASE WHEN unpaid <= 0 THEN 0 ELSE LEAST(unpaid - a0 - a1, p2) END AS a2, unpaid
    FROM spread
),
grouped AS (
    SELECT {key} AS key, sum(a0) AS a0, sum(a1) AS a1, sum(a2) AS a2, sum(unpaid - a0 - a1 - a2) AS a3,
           sum(unpaid) AS unpaid
    FROM aged JOIN {agreement} a ON a.id = aged.agreement_id JOIN {customer} c ON c.id = a.customer_id
    GROUP BY {key}
)
SELECT grouped.key, {code}, {name}, a0, a1, a2, a3, unpaid
FROM grouped LEFT JOIN {named} g ON g.id = grouped.key
ORDER BY unpaid DESC, {code}
"""


def aged_liability_rows(*, balances_sql: str, balances_params, group: str) -> list[tuple]:
    """Per `group` ("customer", "program" or "manager"; a manager row is the manager's user, None for
    customers without one): (key, code, name, unpaid in the youngest bucket, the second, the third, the
    oldest, total), the largest total first. `balances_sql` selects (agreement_id, bucket, amount) over the
    entries a user may see (a queryset's SQL): what each agreement earned in the months of each bucket (0 the
    youngest, 3 the oldest) and, in any other bucket, what it was paid or forfeited."""
    key, named, code, name = GROUPS[group]
    tables = {"agreement": table(RebateAgreement), "customer": table(Customer), "program": table(RebateProgram),
              "user": table(get_user_model())}
    sql = _AGED_SQL.format(balances=balances_sql, key=key, code=code, name=name, named=named.format(**tables),
                           **tables)
    with connection.cursor() as cursor:
        cursor.execute(sql, list(balances_params))
        return cursor.fetchall()
