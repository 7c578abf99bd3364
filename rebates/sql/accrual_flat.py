"""SQL of the accrual run's flat rules (rebates.services.accrual): the agreements whose expected ledger is
a rate times the settlement period's volume to date, booked in one INSERT ... SELECT per chunk.

A rule is flat when its kind is `per_unit` (money per unit) or `percent` (a percent of the eligible net
amount) with no minimum, no cap, no launch bonus and no commitment rule in force (none, or no committed
quantity above zero). A group agreement (its customer a buying group, docs/buying-groups.md) is flat on the
same terms: its volume is its members' lines in scope in their membership months with the group's own lines,
read so in every branch below (the run's table holds them so; `member_in_sql` spells the membership), as the
engine reads it. For such a rule the engine (rebates/engine/calculate.py) gives every month of a settlement
period: what the period has earned to date, rate x units (or rate % x amount) to date, never below 0,
rounded half-up to the cent; less what it had earned the month before; no catch-up, no bonus.
`flat_bookings` computes exactly that with window sums (PostgreSQL's numeric is exact and its ROUND goes half
away from zero, as the engine's quantize_money), then books the difference from the ledger as
`ledger_differences` does: a first accrual entry for a month not yet booked, an adjustment for one whose
figures moved. tests/rebates/test_accrual_flat.py checks the two against each other on random agreements
(some of buying groups).

The `clearance` and `referral` kinds (rebates/engine/kinds.py) are flat on the same terms: a period earns to date
the rule's percent of its amount plus a second percent of a second measure (SECOND_MEASURE_SQL): the clearance
rate on the part bought in the products' clearance windows, or the rate on the referred customers' purchases (the
agreement's own amount then earns nothing). tests/rebates/test_accrual_flat.py checks them the same way.
"""

from datetime import date, datetime

from django.db import connection

from customers.models import Customer, GroupMembership
from rebates.engine.periods import SettlementFrequency
from rebates.models import (
    BonusCondition,
    LedgerEntry,
    PeriodLock,
    Product,
    PurchaseLine,
    RebateAgreement,
    RebateRule,
)
from rebates.sql.scope import covers_sql, in_scope_sql, member_in_sql, products_in_scope_sql, table
from rebates.sql.terms import array_literal, run_input_table

# The rule is flat (see the module's docstring), whoever the customer (a buying group's agreement too); aliases
# a (agreement) and r (its rule).
FLAT_RULE_SQL = """r.kind IN ('per_unit', 'percent', 'clearance', 'referral')
      AND r.rate IS NOT NULL AND r.minimum IS NULL AND r.cap IS NULL
      AND NOT (r.commitment_rule AND COALESCE(a.committed_monthly_quantity, 0) > 0)
      AND NOT EXISTS (SELECT 1 FROM {bonus} b WHERE b.rule_id = r.id)"""

# Agreement by agreement through their keys (a chunk's few hundred of the book's thousands; OFFSET 0 keeps the
# subquery per agreement): joined whole, the planner would scan every rule of the book for each chunk.
_FLAT_IDS_SQL = """
SELECT f.id FROM unnest(%s::bigint[]) AS u(id)
CROSS JOIN LATERAL (SELECT a.id FROM {agreement} a JOIN {rule} r ON r.agreement_id = a.id
                    WHERE a.id = u.id AND {flat_rule} OFFSET 0) f
ORDER BY f.id
"""


def flat_agreement_ids(agreement_ids: list[int]) -> list[int]:
    """Those of these agreements whose rule is flat now (as `flat_bookings` tells them), in id order. A run
    gives them chunks of their own; whichever chunk an agreement lands in, `flat_bookings` decides again."""
    if not agreement_ids:
        return []
    sql = _FLAT_IDS_SQL.format(agreement=table(RebateAgreement), rule=table(RebateRule),
                               flat_rule=FLAT_RULE_SQL.format(bonus=table(BonusCondition)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [array_literal(agreement_ids)])
        return [pk for (pk,) in cursor.fetchall()]


_FLAT_SQL = """
WITH frequency(name, months) AS (SELECT * FROM unnest(%(names)s::text[], %(months)s::int[])),
changed(agreement_id, month) AS (SELECT * FROM unnest(%(changed_ids)s::bigint[], %(changed_months)s::date[])),
flat AS MATERIALIZED (
    -- Recomputed in part: the settlement periods (their indexes from the term's start) that hold a changed
    -- month that accrues, as an array (`span` holds the same periods as rows): a month is in one of them when
    -- its index's period is in it. Tested row by row, with no lookup in `span` per row.
    SELECT f.*, ARRAY(SELECT DISTINCT m.i / f.length
                      FROM unnest(f.changed_months) AS c(month)
                      CROSS JOIN LATERAL (SELECT (EXTRACT(YEAR FROM c.month) * 12 + EXTRACT(MONTH FROM c.month)
                                                  - EXTRACT(YEAR FROM f.start_month) * 12
                                                  - EXTRACT(MONTH FROM f.start_month))::int AS i) m
                      WHERE m.i BETWEEN 0 AND f.last_index) AS changed_periods
    FROM (
    -- An agreement recomputed in part carries its changed months (a few) as an array: no join needed.
    -- Its program and its customer's currency: where its entries post in the GL journal.
    SELECT a.id, a.customer_id, a.program_id,
           (SELECT cu.currency FROM {customer_table} cu WHERE cu.id = a.customer_id) AS currency,
           -- Recomputed in part: its products in scope, which each of its changed months' lines is tested
           -- against (`in_scope`) with no lookup per line.
           CASE WHEN c.months IS NOT NULL THEN {products_in_scope} END AS products,
           a.start_month, a.end_month, f.months AS length, r.kind = 'per_unit' AS per_unit,
           -- A percent on the agreement's own amount, and one on its second measure (see SECOND_MEASURE_SQL).
           CASE WHEN r.kind = 'referral' THEN 0 ELSE r.rate END AS rate, r.kind,
           CASE r.kind WHEN 'clearance' THEN r.clearance_rate WHEN 'referral' THEN r.rate END AS second_rate,
           c.months AS changed_months, c.months IS NOT NULL AS in_part,
           -- Months accrue from the term's start to its last month (end or termination) or the as-of month:
           -- month indexes (year x 12 + month), the last counted from the start.
           (LEAST(EXTRACT(YEAR FROM a.end_month) * 12 + EXTRACT(MONTH FROM a.end_month),
                  EXTRACT(YEAR FROM a.terminated_on) * 12 + EXTRACT(MONTH FROM a.terminated_on),
                  %(as_of_index)s)
            - EXTRACT(YEAR FROM a.start_month) * 12 - EXTRACT(MONTH FROM a.start_month))::int AS last_index
    -- The ids joined as rows, not tested as `= ANY` of the array: the planner estimates such a test element by
    -- element, and planning a chunk of a thousand agreements took longer than booking a hundred.
    FROM unnest(%(ids)s::bigint[]) AS u(id)
    JOIN {agreement} a ON a.id = u.id
    JOIN {rule} r ON r.agreement_id = u.id
    JOIN frequency f ON f.name = a.settlement_frequency
    LEFT JOIN (SELECT agreement_id, array_agg(month) AS months FROM changed GROUP BY agreement_id) c
           ON c.agreement_id = a.id
    WHERE {flat_rule}
    ) f
),
-- Recomputed in part: only the settlement periods that hold a changed month can differ; each as a range of
-- month indexes from the term's start (a changed month outside the months that accrue changes nothing).
span AS MATERIALIZED (
    SELECT DISTINCT a.id AS agreement_id, p.first_index, p.last_index,
           (a.start_month + make_interval(months => p.first_index))::date AS first_month,
           (a.start_month + make_interval(months => p.last_index))::date AS last_month
    FROM flat a
    CROSS JOIN LATERAL unnest(a.changed_months) AS c(month)
    CROSS JOIN LATERAL (SELECT (EXTRACT(YEAR FROM c.month) * 12 + EXTRACT(MONTH FROM c.month)
                                - EXTRACT(YEAR FROM a.start_month) * 12
                                - EXTRACT(MONTH FROM a.start_month))::int AS i) m
    CROSS JOIN LATERAL (SELECT m.i / a.length * a.length AS first_index,
                               LEAST(m.i / a.length * a.length + a.length - 1, a.last_index) AS last_index) p
    WHERE a.in_part AND m.i BETWEEN 0 AND a.last_index
),
held AS MATERIALIZED (
    -- Recomputed whole: every month the entries concern (a locked month's late difference is booked in a
    -- later month, and counts for the month it concerns).
    -- Agreement by agreement through the (agreement, period, kind) index (OFFSET 0 keeps the subquery per
    -- agreement): a full run books the ledger while it reads it, and statistics taken when it was nearly empty
    -- would have every chunk read the whole of it.
    SELECT a.id AS agreement_id, e.concerns AS month, SUM(e.quantity) AS quantity, SUM(e.eligible_amount) AS amount,
           SUM(e.amount) AS booked
    FROM flat a
    CROSS JOIN LATERAL (SELECT e.concerns, e.quantity, e.eligible_amount, e.amount FROM {ledger} e
                        WHERE e.agreement_id = a.id AND e.kind = ANY(%(earned_kinds)s::text[]) OFFSET 0) e
    WHERE NOT a.in_part
    GROUP BY a.id, e.concerns
    UNION ALL
    -- Recomputed in part: the months of the periods to recompute. An entry is never booked before the month it
    -- concerns, so the (agreement, period) index bounds the read from below.
    SELECT e.agreement_id, e.concerns AS month, SUM(e.quantity), SUM(e.eligible_amount), SUM(e.amount)
    FROM span s
    JOIN {ledger} e ON e.agreement_id = s.agreement_id AND e.period >= s.first_month
                   AND e.concerns BETWEEN s.first_month AND s.last_month
    WHERE e.kind = ANY(%(earned_kinds)s::text[])
    GROUP BY e.agreement_id, e.concerns
),
bought AS (
    {whole_bought}
    -- Recomputed in part: the changed months from the purchase lines; every other month as the ledger holds it.
    SELECT a.id AS agreement_id, pl.month, SUM(pl.quantity) AS quantity, SUM(pl.amount) AS amount
    FROM flat a
    CROSS JOIN LATERAL unnest(a.changed_months) AS c(month)
    -- Read by the (customer, month) index, month by month: only the changed months' lines (OFFSET 0 keeps
    -- the planner from reading the whole term's lines by the scope's month range instead); for a group
    -- agreement, its members' lines of the month too, while members (a customer that is not a group has none).
    CROSS JOIN LATERAL (SELECT p.product_id, p.month, p.quantity, p.amount FROM {purchase} p
                        WHERE p.customer_id = a.customer_id AND p.month = c.month
                        UNION ALL
                        SELECT p.product_id, p.month, p.quantity, p.amount
                        FROM {membership} g JOIN {purchase} p ON p.customer_id = g.member_id AND p.month = c.month
                        WHERE g.group_id = a.customer_id AND {member_in}
                        OFFSET 0) pl
    WHERE a.in_part AND {in_scope}
    GROUP BY a.id, pl.month
    UNION ALL
    SELECT h.agreement_id, h.month, h.quantity, h.amount
    FROM held h JOIN flat a ON a.id = h.agreement_id
    WHERE a.in_part AND NOT h.month = ANY(a.changed_months)
),
second AS (
{second}
),
grid AS (
    -- Recomputed whole: every month that accrues; in part: the months of the periods to recompute.
    SELECT a.id AS agreement_id, a.per_unit, a.rate, a.second_rate, a.in_part, a.changed_months,
           i / a.length AS period, (a.start_month + make_interval(months => i))::date AS month
    FROM flat a CROSS JOIN LATERAL generate_series(0, a.last_index) AS i
    WHERE NOT a.in_part
    UNION ALL
    SELECT a.id, a.per_unit, a.rate, a.second_rate, a.in_part, a.changed_months, i / a.length,
           (a.start_month + make_interval(months => i))::date
    FROM span s JOIN flat a ON a.id = s.agreement_id
    CROSS JOIN LATERAL generate_series(s.first_index, s.last_index) AS i
),
cell AS (
    SELECT g.*, COALESCE(b.quantity, 0) AS quantity, COALESCE(b.amount, 0) AS amount,
           COALESCE(s.amount, 0) AS second_amount, g.in_part AND g.month = ANY(g.changed_months) AS is_changed
    FROM grid g LEFT JOIN bought b ON b.agreement_id = g.agreement_id AND b.month = g.month
    LEFT JOIN second s ON s.agreement_id = g.agreement_id AND s.month = g.month
),
earned AS (
    SELECT c.*,
           ROUND(GREATEST(0, CASE WHEN c.per_unit THEN c.rate * SUM(c.quantity) OVER w
                                  ELSE (c.rate * SUM(c.amount) OVER w
                                        + COALESCE(c.second_rate * SUM(c.second_amount) OVER w, 0)) * 0.01
                             END), 2) AS to_date,
           MIN(c.month) FILTER (WHERE c.is_changed) OVER (PARTITION BY c.agreement_id, c.period) AS first_changed
    FROM cell c
    WINDOW w AS (PARTITION BY c.agreement_id, c.period ORDER BY c.month)
),
expected AS (
    SELECT agreement_id, month, quantity, amount,
           to_date - COALESCE(LAG(to_date) OVER (PARTITION BY agreement_id, period ORDER BY month), 0) AS booked,
           in_part, first_changed
    FROM earned
),
wanted AS (
    -- Recomputed in part: only the months that can differ, from the first changed month of a period on.
    SELECT agreement_id, month, quantity, amount, booked FROM expected
    WHERE NOT in_part OR month >= first_changed
    UNION ALL
    -- Recomputed whole: a booked month that no longer accrues (up to the as-of month) goes back to zero.
    SELECT h.agreement_id, h.month, 0, 0, 0
    FROM held h JOIN flat a ON a.id = h.agreement_id
    WHERE NOT a.in_part AND h.month <= %(as_of_month)s
      AND h.month > (a.start_month + make_interval(months => a.last_index))::date
),
entry AS (
    SELECT w.agreement_id, w.month, h.agreement_id IS NOT NULL AS was_held,
           w.quantity - COALESCE(h.quantity, 0) AS quantity, w.amount - COALESCE(h.amount, 0) AS amount,
           w.booked - COALESCE(h.booked, 0) AS booked
    FROM wanted w LEFT JOIN held h ON h.agreement_id = w.agreement_id AND h.month = w.month
),
created AS (
    -- Booked in the month it is for, or the first open month after it when that one is locked.
    -- Each entry carries where its journal posts: its agreement's program and its customer's currency (`flat`).
    INSERT INTO {ledger} (agreement_id, period, concerns, kind, quantity, eligible_amount, amount, accrual_run_id,
                          booking_key, booked_at, program_id, currency)
    SELECT e.agreement_id,
           -- Once per statement whether any month is locked at all; per row only then.
           CASE WHEN EXISTS (SELECT 1 FROM {period_lock} WHERE reopened_at IS NULL) THEN rebates_open_month(e.month)
                ELSE e.month END AS booked_in,
           e.month, e.kind, e.quantity, e.amount, e.booked, %(run_id)s,
           e.kind || ':a' || e.agreement_id || ':' || to_char(e.month, 'YYYY-MM') || ':r' || %(run_id)s, %(now)s,
           posts.program_id, posts.currency
    FROM (SELECT *, CASE WHEN was_held THEN 'adjustment' ELSE 'accrual' END AS kind FROM entry
          WHERE quantity <> 0 OR amount <> 0 OR booked <> 0) e
    JOIN flat posts ON posts.id = e.agreement_id
    ORDER BY e.agreement_id, e.month
    RETURNING amount
)
SELECT ARRAY(SELECT id FROM flat ORDER BY id), (SELECT count(*) FROM created),
       (SELECT COALESCE(SUM(amount), 0) FROM created)
"""

# The second measure of the clearance and referral kinds (rebates/engine/kinds.py), per (agreement, month): the
# agreement's purchases in scope of products in their clearance window that month (as `clearance_rows`), or the
# purchases in scope of the customers its customer referred in their referral months (as `referral_rows`).
# Recomputed whole over the term; in part, over the periods to recompute only (`span`: a period's lines read by
# customer and month, never the term's). Another flat kind has none.
SECOND_MEASURE_SQL = """    SELECT m.agreement_id, m.month, SUM(m.amount) AS amount
    FROM (SELECT a.id AS agreement_id, pl.month, pl.amount
          FROM flat a
          JOIN {purchase} pl ON pl.customer_id = a.customer_id
          JOIN {product} pr ON pr.id = pl.product_id
          WHERE a.kind = 'clearance' AND NOT a.in_part AND pr.clearance_from <= pl.month
            AND pr.clearance_until >= pl.month AND {covers}
          UNION ALL
          -- Recomputed in part: the lines of the periods to recompute only, read by (customer, month).
          SELECT a.id, pl.month, pl.amount
          FROM span s
          JOIN flat a ON a.id = s.agreement_id
          JOIN {purchase} pl ON pl.customer_id = a.customer_id
               AND pl.month BETWEEN s.first_month AND s.last_month
          JOIN {product} pr ON pr.id = pl.product_id
          WHERE a.kind = 'clearance' AND pr.clearance_from <= pl.month AND pr.clearance_until >= pl.month
            AND {covers}
          UNION ALL
          -- The referred customers' lines are few (their referral months only): read whole, then kept to the
          -- periods to recompute when recomputed in part (their month's period among the agreement's
          -- `changed_periods`, a test on the row: looking each up in `span` cost a scan of it per line).
          SELECT a.id, pl.month, pl.amount
          FROM flat a
          JOIN {customer} rc ON rc.referred_by_id = a.customer_id
          JOIN {purchase} pl ON pl.customer_id = rc.id AND pl.month >= rc.referral_from
               AND pl.month < rc.referral_from + make_interval(months => rc.referral_months::int)
          JOIN {product} pr ON pr.id = pl.product_id
          CROSS JOIN LATERAL (SELECT (EXTRACT(YEAR FROM pl.month) * 12 + EXTRACT(MONTH FROM pl.month)
                                      - EXTRACT(YEAR FROM a.start_month) * 12
                                      - EXTRACT(MONTH FROM a.start_month))::int AS i) mi
          WHERE a.kind = 'referral' AND {covers}
            AND (NOT a.in_part OR (mi.i BETWEEN 0 AND a.last_index AND mi.i / a.length = ANY(a.changed_periods)))) m
    GROUP BY m.agreement_id, m.month"""

# Recomputed whole: the month's purchases in scope from the run's own table (rebates.sql.terms).
_WHOLE_BOUGHT_SQL = """SELECT i.agreement_id, i.month, i.quantity, i.amount
    FROM {input} i JOIN flat a ON a.id = i.agreement_id
    WHERE NOT a.in_part
    UNION ALL
"""


# Recomputed whole, with no table of the run's own: the purchases in scope read from the lines, by customer:
# the agreement's customer's own and, for a group agreement, its members' in their membership months.
_WHOLE_LINES_SQL = """SELECT l.agreement_id, l.month, SUM(l.quantity) AS quantity, SUM(l.amount) AS amount
    FROM (SELECT a.id AS agreement_id, pl.month, pl.quantity, pl.amount
          FROM flat a
          JOIN {purchase} pl ON pl.customer_id = a.customer_id
          JOIN {product} pr ON pr.id = pl.product_id
          WHERE NOT a.in_part AND {covers}
          UNION ALL
          SELECT a.id, pl.month, pl.quantity, pl.amount
          FROM flat a
          JOIN {membership} g ON g.group_id = a.customer_id
          JOIN {purchase} pl ON pl.customer_id = g.member_id AND {member_in}
          JOIN {product} pr ON pr.id = pl.product_id
          WHERE NOT a.in_part AND {covers}) l
    GROUP BY l.agreement_id, l.month
    UNION ALL
"""


def flat_bookings(*, agreement_ids: list[int], changed_months: dict[int, frozenset[date]], as_of_month: date,
                  run_id: int, now: datetime, whole: str | None) -> tuple[list[int], int, object]:
    """Book the ledger differences of the agreements among `agreement_ids` whose rule is flat, in one statement:
    those in `changed_months` recomputed in part (their changed months read from the purchase lines, the
    others from the ledger), the others over their whole term, read as `whole` says: "stored", from the run's
    own table; "lines", from the purchase lines; None, there are none. Returns (the flat agreements' ids in
    order, entries booked, their total amount).

    The caller holds the agreements' locks; months after `as_of_month` are left alone."""
    earned_kinds = [LedgerEntry.Kind.ACCRUAL.value, LedgerEntry.Kind.CATCH_UP.value, LedgerEntry.Kind.ADJUSTMENT.value]
    pairs = [(pk, month) for pk, months in changed_months.items() for month in sorted(months)]
    sql = _FLAT_SQL.format(
        agreement=table(RebateAgreement), rule=table(RebateRule), ledger=table(LedgerEntry),
        period_lock=table(PeriodLock), customer_table=table(Customer),
        purchase=table(PurchaseLine), product=table(Product),
        membership=table(GroupMembership), member_in=member_in_sql(month="p.month"),
        flat_rule=FLAT_RULE_SQL.format(bonus=table(BonusCondition)),
        whole_bought={"stored": _WHOLE_BOUGHT_SQL.format(input=run_input_table(run_id)),
                      "lines": _WHOLE_LINES_SQL.format(purchase=table(PurchaseLine), product=table(Product),
                                                       membership=table(GroupMembership),
                                                       member_in=member_in_sql(), covers=covers_sql()),
                      None: ""}[whole],
        products_in_scope=products_in_scope_sql(), in_scope=in_scope_sql(),
        second=SECOND_MEASURE_SQL.format(purchase=table(PurchaseLine), product=table(Product),
                                         customer=table(Customer), covers=covers_sql()),
    )
    with connection.cursor() as cursor:
        # The planner guesses this statement far dearer than it is (a series per agreement), and compiling it
        # (JIT) would then cost more than running it. For this transaction only.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, {
            "names": [f.value for f in SettlementFrequency], "months": [f.months for f in SettlementFrequency],
            # The long arrays as one array literal each (text cast to the array type), not as an ARRAY[...] of
            # a constant per element that the server parses and folds one by one.
            "ids": array_literal(agreement_ids),
            "changed_ids": array_literal(pk for pk, _ in pairs),
            "changed_months": array_literal(month for _, month in pairs), "as_of_month": as_of_month,
            "as_of_index": as_of_month.year * 12 + as_of_month.month, "run_id": run_id,
            "now": now, "earned_kinds": earned_kinds,
        })
        flat_ids, entries, total = cursor.fetchone()
    return flat_ids, entries, total
