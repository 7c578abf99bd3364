"""The aged liability's SQL: the unpaid rebate of each agreement spread over the months that earned it, the
payouts and forfeitures taken from the oldest months first, summed by age bucket."""

from datetime import date

from django.contrib.auth import get_user_model
from django.db import connection

from customers.models import Customer
from rebates.models import RebateAgreement, RebateProgram
from rebates.sql.scope import table

# What a row is grouped by: its key, its code and its name.
GROUPS = {
    "customer": ("c.id", "c.code", "c.name"),
    "program": ("p.id", "p.code", "p.name"),
    "manager": ("u.id", "u.username", "trim(concat_ws(' ', u.first_name, u.last_name))"),
}

_AGED_SQL = """
WITH cells AS ({cells}),
totals AS (
    SELECT agreement_id, sum(earned) + sum(reduced) AS unpaid FROM cells GROUP BY agreement_id
),
spread AS (
    -- The unpaid balance sits in the newest months that earned it: walking back from the newest, each month
    -- holds what it earned until the balance is spent (the older months were paid or forfeited first).
    SELECT c.agreement_id, c.period,
           GREATEST(0, LEAST(c.earned, t.unpaid - (sum(c.earned) OVER newer - c.earned))) AS amount
    FROM cells c JOIN totals t USING (agreement_id)
    WHERE c.earned > 0 AND t.unpaid > 0
    WINDOW newer AS (PARTITION BY c.agreement_id ORDER BY c.period DESC ROWS UNBOUNDED PRECEDING)
    UNION ALL
    -- A balance below zero (more paid than earned) is shown, never hidden, in the youngest bucket.
    SELECT agreement_id, NULL, unpaid FROM totals WHERE unpaid < 0
),
aged AS (
    SELECT s.agreement_id, s.amount,
           CASE WHEN s.period IS NULL THEN 0
                ELSE GREATEST(0, %s::date - (s.period + interval '1 month' - interval '1 day')::date) END AS age
    FROM spread s WHERE s.amount <> 0
)
SELECT {key}, {code}, {name},
       COALESCE(sum(aged.amount) FILTER (WHERE age <= %s), 0.00),
       COALESCE(sum(aged.amount) FILTER (WHERE age > %s AND age <= %s), 0.00),
       COALESCE(sum(aged.amount) FILTER (WHERE age > %s AND age <= %s), 0.00),
       COALESCE(sum(aged.amount) FILTER (WHERE age > %s), 0.00),
       sum(aged.amount)
FROM aged
JOIN {agreement} a ON a.id = aged.agreement_id
JOIN {customer} c ON c.id = a.customer_id
JOIN {program} p ON p.id = a.program_id
LEFT JOIN {user} u ON u.id = c.account_manager_id
GROUP BY {key}, {code}, {name}
ORDER BY sum(aged.amount) DESC, {code}
"""


def aged_liability_rows(*, cells_sql: str, cells_params, as_of: date, bounds: tuple[int, int, int],
                        group: str) -> list[tuple]:
    """Per `group` ("customer", "program" or "manager"; a manager row is the manager's user, None for
    customers without one): (key, code, name, unpaid aged up to bounds[0] days, up to bounds[1], up to
    bounds[2], older, total), the largest total first. `cells_sql` selects (agreement_id, period, earned,
    reduced) per agreement and month over the entries a user may see (a queryset's SQL). An age is the days
    from the end of the month that earned it to `as_of`."""
    key, code, name = GROUPS[group]
    sql = _AGED_SQL.format(cells=cells_sql, key=key, code=code, name=name, agreement=table(RebateAgreement),
                           customer=table(Customer), program=table(RebateProgram), user=table(get_user_model()))
    first, second, third = bounds
    with connection.cursor() as cursor:
        cursor.execute(sql, [*cells_params, as_of, first, first, second, second, third, third])
        return cursor.fetchall()
