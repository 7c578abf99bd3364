"""SQL of the engine's inputs (rebates.terms): purchases in scope summed per (agreement, month)."""

from concurrent.futures import ThreadPoolExecutor
from datetime import date

from django.db import connection, transaction

from customers.models import Customer, GroupMembership
from rebates.models import BonusCondition, Product, PurchaseLine, RebateAgreement, RebateRule, TierBand
from rebates.sql.scope import covers_sql, member_in_sql, scope_products_sql, table

# Purchases of each agreement's customer whose product is in the agreement's scope in a month of its term,
# summed per month; from a year before the term when the rule measures growth over last year's same period
# (the caller's earliest month bounds how far back). The run's reads add the members' lines of a group agreement
# (_MEMBER_TOTALS_SQL); the outlook reads the customer's own lines only.
_SCOPE_TOTALS_SQL = """
SELECT a.id AS agreement_id, pl.month AS month, SUM(pl.quantity) AS quantity, SUM(pl.amount) AS amount
FROM {agreement} a
JOIN {purchase} pl ON pl.customer_id = a.customer_id AND pl.month >= %s
JOIN {product} pr ON pr.id = pl.product_id
{window}WHERE a.id = ANY(%s::bigint[]){customers}
  AND {covers}
GROUP BY a.id, pl.month
"""

# A group agreement's (its customer a buying group) members' purchases in scope in their membership months,
# summed per month as above (docs/buying-groups.md): they add to the group's own lines, if the ERP sends any.
_MEMBER_TOTALS_SQL = """
SELECT a.id AS agreement_id, pl.month AS month, SUM(pl.quantity) AS quantity, SUM(pl.amount) AS amount
FROM {agreement} a
JOIN {membership} g ON g.group_id = a.customer_id
JOIN {purchase} pl ON pl.customer_id = g.member_id AND pl.month >= %s AND {member_in}
JOIN {product} pr ON pr.id = pl.product_id
{window}WHERE a.id = ANY(%s::bigint[]){customers}
  AND {covers}
GROUP BY a.id, pl.month
"""

# The customer's own lines and its members' in one row per (agreement, month).
_WITH_MEMBERS_SQL = """
SELECT t.agreement_id, t.month, SUM(t.quantity) AS quantity, SUM(t.amount) AS amount
FROM ({own}
UNION ALL
{members}) AS t
GROUP BY t.agreement_id, t.month
"""

# Agreements recomputed in part read only the months whose purchases changed: (agreement id, month) pairs.
_WINDOW_SQL = """JOIN unnest(%s::bigint[], %s::date[]) AS w (agreement_id, month)
  ON w.agreement_id = a.id AND w.month = pl.month
"""

# Named explicitly so the planner reads these customers' lines by index, not the whole table.
_CUSTOMERS_SQL = "\n  AND pl.customer_id = ANY(%s::bigint[])"

_GROUP_MEMBERS_OF_SQL = "SELECT DISTINCT member_id FROM {membership} WHERE group_id = ANY(%s::bigint[])"


def _scope_totals(agreement_ids, earliest: date, *, customer_ids=None, window=None) -> tuple[str, list]:
    """The scope totals' query and parameters: the agreements' customers' own lines and, for a group
    agreement, its members' lines in their membership months (`customer_ids`, when given, names the customers
    whose lines are read by index; their groups' members are then named too)."""
    tables = {"agreement": table(RebateAgreement), "purchase": table(PurchaseLine), "product": table(Product)}
    window_sql = _WINDOW_SQL if window is not None else ""
    covers = covers_sql(or_before_term=(f"EXISTS (SELECT 1 FROM {table(RebateRule)} r "
                                        f"WHERE r.agreement_id = a.id AND r.baseline = 'last_year')"))
    own = _SCOPE_TOTALS_SQL.format(**tables, window=window_sql, customers=_CUSTOMERS_SQL if customer_ids else "",
                                   covers=covers)
    window_params = []
    ids = list(agreement_ids)
    if window is not None:
        # An incremental run's chunk names hundreds of agreements and pairs: each array as one literal (see
        # `array_literal`), planned in a third of the time the driver's lists took.
        pairs = [(pk, month) for pk, months in window.items() for month in sorted(months)]
        window_params = [array_literal(pk for pk, _ in pairs), array_literal(month for _, month in pairs)]
        ids = array_literal(ids)
    own_params = [earliest, *window_params, ids] + ([sorted(customer_ids)] if customer_ids else [])
    members = None
    if customer_ids:
        with connection.cursor() as cursor:
            cursor.execute(_GROUP_MEMBERS_OF_SQL.format(membership=table(GroupMembership)), [sorted(customer_ids)])
            members = sorted(member for (member,) in cursor.fetchall())
        if not members:
            # None of these customers is a group with members: their own lines are all there is.
            return own, own_params
    member_sql = _MEMBER_TOTALS_SQL.format(**tables, membership=table(GroupMembership), window=window_sql,
                                           member_in=member_in_sql(), customers=_CUSTOMERS_SQL if members else "",
                                           covers=covers)
    member_params = [earliest, *window_params, ids] + ([members] if members else [])
    return _WITH_MEMBERS_SQL.format(own=own, members=member_sql), own_params + member_params


def array_literal(values) -> str:
    """PostgreSQL's text form of a one-dimensional array of numbers or dates ("{1,2,3}", "{2026-03-01}"), for a
    parameter cast to the array's type: one constant for the server to read, where the list the driver sends
    (ARRAY[...]) is one per element, each parsed and folded while the statement is planned (the flat rules'
    statement for a chunk of 1,461 agreements planned in 37 ms instead of 73 ms at load 10). None of these
    values needs quoting; a text element is passed already quoted (outlook.sql's `_element`)."""
    return "{" + ",".join(map(str, values)) + "}"


def changed_month_rows(changed_months: dict[int, frozenset[date]], *, earliest: date) -> list[tuple]:
    """Per agreement and month with purchases in scope, (agreement id, month, quantity, amount) of only the
    months named in `changed_months` (the customer's own lines and, for a group agreement, its members' lines
    in their membership months)."""
    sql, params = _scope_totals(list(changed_months), earliest, window=changed_months)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def agreement_starts(agreement_ids: list[int]) -> list[tuple]:
    """(start month, customer id) of each of these agreements."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT start_month, customer_id FROM {table(RebateAgreement)} WHERE id = ANY(%s::bigint[])",
                       [array_literal(agreement_ids)])
        return cursor.fetchall()


def earliest_start(agreement_ids: list[int]) -> date | None:
    """The earliest start month of these agreements (None for none)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(start_month) FROM {table(RebateAgreement)} WHERE id = ANY(%s::bigint[])",
                       [array_literal(agreement_ids)])
        return cursor.fetchone()[0]


# The run's own table over many agreements (a full run): their purchases in scope per (agreement, month), as
# `_scope_totals` reads them, in one pass. Each agreement's lines are read by the (customer, month) index from its
# own first month (its term's start, or `earliest` for a rule measured against last year), not from `earliest`
# for every agreement, and whether its rule measures against last year is read once per agreement (`b`), not once
# per line before its term; the customer's own lines and a group's members' lines are summed in one aggregate.
# The same rows as `_scope_totals`: a line before the term counts only for a rule measured against last year.
_STORE_SQL = """
WITH b AS MATERIALIZED (
    SELECT a.id, a.customer_id, a.start_month, a.end_month,
           EXISTS (SELECT 1 FROM {rule} r WHERE r.agreement_id = a.id AND r.baseline = 'last_year') AS before_term
    FROM {agreement} a WHERE a.id = ANY(%(ids)s::bigint[])
)
SELECT t.agreement_id, t.month, SUM(t.quantity) AS quantity, SUM(t.amount) AS amount
FROM (SELECT b.id AS agreement_id, pl.month, pl.quantity, pl.amount
      FROM b
      JOIN {purchase} pl ON pl.customer_id = b.customer_id AND pl.month <= b.end_month
           AND pl.month >= CASE WHEN b.before_term THEN %(earliest)s ELSE GREATEST(b.start_month, %(earliest)s) END
      JOIN {product} pr ON pr.id = pl.product_id
      WHERE {covers}
      UNION ALL
      SELECT b.id, pl.month, pl.quantity, pl.amount
      FROM b
      JOIN {membership} g ON g.group_id = b.customer_id
      JOIN {purchase} pl ON pl.customer_id = g.member_id AND {member_in} AND pl.month <= b.end_month
           AND pl.month >= CASE WHEN b.before_term THEN %(earliest)s ELSE GREATEST(b.start_month, %(earliest)s) END
      JOIN {product} pr ON pr.id = pl.product_id
      WHERE {covers}) t
GROUP BY t.agreement_id, t.month
"""


def run_input_table(run_id: int) -> str:
    """The quoted name of the table that holds a run's purchases in scope per (agreement, month)."""
    # A name cannot be bound: the run id, an int, is inlined.
    return connection.ops.quote_name(f"rebates_accrual_input_r{int(run_id)}")


def _store_totals(agreement_ids, earliest: date) -> tuple[str, dict]:
    """`_STORE_SQL` and its parameters: the purchases in scope of these agreements per (agreement, month)."""
    sql = _STORE_SQL.format(
        agreement=table(RebateAgreement), rule=table(RebateRule), purchase=table(PurchaseLine), product=table(Product),
        membership=table(GroupMembership), member_in=member_in_sql(),
        covers=covers_sql(agreement="b", or_before_term="b.before_term"))
    return sql, {"ids": array_literal(agreement_ids), "earliest": earliest}


# A full run's table over at least this many agreements is filled by two connections at once, each over every
# other agreement: PostgreSQL gives the statement no parallel plan (an index probe per agreement), and no chunk can
# start before it ends.
STORE_SPLIT_MIN = 2_000


def scope_month_store(*, run_id: int, agreement_ids: list[int], earliest: date, customer_ids=None) -> None:
    """Create the run's own table (unlogged, indexed by agreement) holding the purchases in scope of these
    agreements per (agreement, month) over their term, and from `earliest` on for a rule measured against last
    year (read through `customer_ids`, their customers, when given), replacing any left from before; returns
    nothing. A group agreement's rows hold its members' lines in their membership months with the
    group's own: the flat bookings (rebates/sql/accrual_flat.py) and the engine read the same figures.

    Many agreements (`customer_ids` None: a full run) are read by `_STORE_SQL` in one pass, agreement by
    agreement through the (customer, month) index; chunks then read their slice by index. From
    `STORE_SPLIT_MIN` agreements on, half of them are read by a second connection at the same time
    (`_store_split`)."""
    name = run_input_table(run_id)
    if customer_ids is None and len(agreement_ids) >= STORE_SPLIT_MIN:
        _store_split(name, list(agreement_ids), earliest)
    else:
        if customer_ids is None:
            sql, params = _store_totals(agreement_ids, earliest)
        else:
            sql, params = _scope_totals(agreement_ids, earliest, customer_ids=customer_ids)
        with connection.cursor() as cursor:
            _store_settings(cursor)
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
            cursor.execute(f"CREATE UNLOGGED TABLE {name} AS {sql}", params)
    with connection.cursor() as cursor:
        index = connection.ops.quote_name(f"rebates_accrual_input_r{int(run_id)}_agreement")
        cursor.execute(f"CREATE INDEX {index} ON {name} (agreement_id)")
        # Statistics now, not when autovacuum comes by midway: without them the chunks' reads of their slice
        # are planned as reads of the whole table.
        cursor.execute(f"ANALYZE {name}")


def _store_settings(cursor) -> None:
    # The scope tests make the planner guess the query far dearer than it is, and compiling it (JIT) then
    # costs more than running it. The sums per (agreement, month) are made in memory (on the generated book's
    # million lines, a hash of about 180 MB; a sort of them spilled 34 MB to disk at 64 MB, and took 10 to 20%
    # more CPU). For this transaction only.
    cursor.execute("SET LOCAL jit = off")
    cursor.execute("SET LOCAL work_mem = '256MB'")


def _store_split(name: str, agreement_ids: list[int], earliest: date) -> None:
    """Fill the run's table `name` from two connections at once: this one, in the caller's transaction, sums every
    other agreement; a second one, in a thread, the rest, in transactions of its own. The second connection makes
    the (empty) table and commits it first, so both can insert into it; the caller's transaction sees the whole
    table once the thread is done. If the caller's transaction is rolled back, the table stays, with the second
    half's rows: the run is not running then, and its next preparation drops the table first."""
    ours, theirs = agreement_ids[0::2], agreement_ids[1::2]
    with ThreadPoolExecutor(max_workers=1) as other:
        # The same thread for both steps, so the same connection; closed when it is done.
        other.submit(_in_other_connection, _store_create_empty, name, theirs, earliest).result()
        filled = other.submit(_in_other_connection, _store_insert, name, theirs, earliest, close=True)
        try:
            _store_insert(name, ours, earliest)
        finally:
            filled.result()  # waits for the second half (committed), and raises what went wrong there


def _in_other_connection(step, *args, close: bool = False) -> None:
    """Run `step` in a transaction of this thread's own connection; close the connection after the last step."""
    try:
        with transaction.atomic():
            step(*args)
    except BaseException:
        connection.close()
        raise
    if close:
        connection.close()


def _store_create_empty(name: str, agreement_ids: list[int], earliest: date) -> None:
    sql, params = _store_totals(agreement_ids, earliest)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(f"CREATE UNLOGGED TABLE {name} AS {sql} WITH NO DATA", params)


def _store_insert(name: str, agreement_ids: list[int], earliest: date) -> None:
    sql, params = _store_totals(agreement_ids, earliest)
    with connection.cursor() as cursor:
        _store_settings(cursor)
        cursor.execute(f"INSERT INTO {name} {sql}", params)


def run_input_exists(*, run_id: int) -> bool:
    """Whether the run's table (`scope_month_store`) exists."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [run_input_table(run_id)])
        return cursor.fetchone()[0]


def scope_month_stored_rows(*, run_id: int, agreement_ids: list[int]) -> list[tuple]:
    """(agreement id, month, quantity, amount) rows of the run's table for these agreements."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT agreement_id, month, quantity, amount FROM {run_input_table(run_id)} "
                       f"WHERE agreement_id = ANY(%s::bigint[])", [array_literal(agreement_ids)])
        return cursor.fetchall()


def scope_month_drop(*, run_id: int) -> None:
    """Drop the run's table if it is there; returns nothing."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {run_input_table(run_id)}")


# Purchases in scope per (agreement, month) in each agreement's own window (the outlook's and the engine's
# whole-term reads): those of the agreement's customer and, for a buying
# group's agreement, those of its members in the months they were members (docs/buying-groups.md), together:
# each agreement (alias b, with its own first month and its term's last month read) once per buyer. Only the
# agreements named as groups' are joined to the memberships. Each buyer's lines are read by the (customer,
# month) index from its agreement's own first month, so no month is read that the forecast then drops, and
# summed per month there, in the index's month order (no sort); a line is in scope when its product is in its
# agreement's array (`scope_products_sql`). An agreement that is not a group's has one buyer, so its months
# come out summed already; only a group's buyers' sums are added per month (sorted and summed before, every
# agreement's: a chunk's 21,000 rows). The agreements are looked up by their keys (the planner, guessing the
# scope's rows, hashed the whole table twice). Against one pass over every buyer's lines joined to the
# (agreement, product) pairs, then sorted and summed: a chunk of 1,000 agreements (some 110,000 lines into
# 18,000 months) took 86 to 88 ms of the database's time instead of 107 to 111 ms, the same rows; the group's
# own sum and the lookups by key took a tenth off that again (see docs/outlook.md).
_WINDOW_TOTALS_SQL = """
WITH scope AS (
{scope}
), buyer AS (
    SELECT w.id, w.first, LEAST(a.end_month, %(latest)s::date) AS last, a.customer_id AS buyer_id,
           FALSE AS member, NULL::date AS joined, NULL::date AS ended, s.products,
           w.id = ANY(%(groups)s::bigint[]) AS grouped
      FROM unnest(%(agreements)s::bigint[], %(firsts)s::date[]) AS w (id, first)
      JOIN {agreement} a ON a.id = w.id
      JOIN scope s ON s.agreement_id = w.id
     WHERE a.id = ANY(%(agreements)s::bigint[])
    UNION ALL
    SELECT w.id, w.first, LEAST(a.end_month, %(latest)s::date), g.member_id, TRUE, g.joined, g.ended, s.products,
           TRUE
      FROM unnest(%(agreements)s::bigint[], %(firsts)s::date[]) AS w (id, first)
      JOIN {agreement} a ON a.id = w.id
      JOIN {membership} g ON g.group_id = a.customer_id
      JOIN scope s ON s.agreement_id = w.id
     WHERE w.id = ANY(%(groups)s::bigint[]) AND a.id = ANY(%(groups)s::bigint[])
), months AS (
    SELECT b.id, b.grouped, m.month, m.quantity, m.amount
      FROM buyer b
     CROSS JOIN LATERAL (
        SELECT pl.month, SUM(pl.quantity) AS quantity, SUM(pl.amount) AS amount
          FROM {purchase} pl
         WHERE pl.customer_id = b.buyer_id AND pl.month >= b.first AND pl.month <= b.last
           AND pl.product_id = ANY(b.products)
           AND (NOT b.member OR {member_in})
         GROUP BY pl.month
     ) m
)
SELECT id, month, quantity, amount FROM months WHERE NOT grouped
UNION ALL
SELECT id, month, SUM(quantity), SUM(amount) FROM months WHERE grouped GROUP BY id, month
"""


def window_month_rows(firsts: dict[int, date], *, latest: date, group_ids=None) -> list[tuple]:
    """(agreement id, month, quantity, amount) per agreement and month with purchases in scope, for each
    agreement in `firsts` from its own first month there to the earlier of its end month and `latest`, months
    before its term included when its first month is before the term (the outlook shapes a forecast by last
    year's months whatever the rule; the engine reads them for a rule measured against last year). A buying
    group's agreement counts its members' purchases in their membership months with its own, as the run does:
    `group_ids` maps those agreements to their group (customer) ids (None: any agreement may be one)."""
    ids = sorted(firsts)
    if not ids:
        return []
    sql = _WINDOW_TOTALS_SQL.format(
        agreement=table(RebateAgreement), membership=table(GroupMembership), purchase=table(PurchaseLine),
        member_in=member_in_sql(membership="b"), scope=scope_products_sql(agreements="%(agreements)s"),
    )
    groups = ids if group_ids is None else sorted(group_ids)
    # Each array as one literal (see `array_literal`): a chunk names a thousand agreements.
    params = {"agreements": array_literal(ids), "firsts": array_literal(firsts[pk] for pk in ids),
              "groups": array_literal(groups), "latest": latest}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# The agreements' ids are one array parameter (= ANY): the plan does not grow with a chunk's hundreds of ids.
_AGREEMENT_TERMS_SQL = """
SELECT a.id, a.customer_id, c.is_group, a.start_month, a.end_month, a.settlement_frequency,
       a.committed_monthly_quantity, a.terminated_on, {rule_fields}
FROM {agreement} a JOIN {rule} r ON r.agreement_id = a.id JOIN {customer} c ON c.id = a.customer_id
WHERE a.id = ANY(%s::bigint[])
ORDER BY a.id
"""

_BANDS_SQL = """
SELECT r.agreement_id, t.threshold, t.rate
FROM {band} t JOIN {rule} r ON r.id = t.rule_id
WHERE r.agreement_id = ANY(%s::bigint[])
ORDER BY r.agreement_id, t.threshold
"""

_BONUSES_SQL = """
SELECT r.agreement_id, b.product_id, p.sku, b.minimum_quantity, b.extra_percent
FROM {bonus} b JOIN {rule} r ON r.id = b.rule_id JOIN {product} p ON p.id = b.product_id
WHERE r.agreement_id = ANY(%s::bigint[])
ORDER BY b.id
"""


def agreement_terms_rows(agreement_ids: list[int], rule_fields: tuple[str, ...]) -> tuple[list, list, list]:
    """The terms of these agreements (those with a rule) as three row lists: (id, customer id, whether the
    customer is a buying group, start month,
    end month, settlement frequency, committed monthly quantity, terminated on, *`rule_fields` of its rule)
    by id; (agreement id, threshold, rate) of their tier bands by agreement and threshold; (agreement id,
    product id, sku, minimum quantity, extra percent) of their launch bonuses in the order they were made."""
    tables = {"agreement": table(RebateAgreement), "rule": table(RebateRule), "band": table(TierBand),
              "bonus": table(BonusCondition), "product": table(Product), "customer": table(Customer)}
    ids = [array_literal(agreement_ids)]
    with connection.cursor() as cursor:
        cursor.execute(_AGREEMENT_TERMS_SQL.format(rule_fields=", ".join(f"r.{name}" for name in rule_fields),
                                                   **tables), ids)
        agreements = cursor.fetchall()
        cursor.execute(_BANDS_SQL.format(**tables), ids)
        bands = cursor.fetchall()
        cursor.execute(_BONUSES_SQL.format(**tables), ids)
        bonuses = cursor.fetchall()
    return agreements, bands, bonuses


# Purchases of the customers each agreement's customer referred, in each one's referral window, of products in
# the agreement's scope in a month of its term: per agreement, referred customer and month.
_REFERRAL_SQL = """
SELECT a.id, c.code, pl.month, SUM(pl.quantity), SUM(pl.amount)
FROM {agreement} a
JOIN {customer} c ON c.referred_by_id = a.customer_id
JOIN {purchase} pl ON pl.customer_id = c.id AND pl.month >= c.referral_from
     AND pl.month < c.referral_from + make_interval(months => c.referral_months::int)
{window}JOIN {product} pr ON pr.id = pl.product_id
WHERE a.id = ANY(%s::bigint[]) AND {covers}
GROUP BY a.id, c.code, pl.month
ORDER BY a.id, pl.month, c.code
"""


def referral_rows(agreement_ids: list[int], months=None) -> list[tuple]:
    """(agreement id, referred customer's code, month, quantity, amount): the purchases in scope of the
    customers each agreement's customer referred, in their referral months, over the term (for an agreement in
    `months`, in the months it names only: see `_per_agreement_rows`)."""
    return _per_agreement_rows(_REFERRAL_SQL, agreement_ids, months)


# Purchases of each group agreement's members (its customer is a buying group) in the months they were members,
# of products in the agreement's scope in a month of its term (from a year before it for a rule measured
# against last year): per agreement, member and month (docs/buying-groups.md).
_GROUP_SQL = """
SELECT a.id, c.code, pl.month, SUM(pl.quantity), SUM(pl.amount)
FROM {agreement} a
JOIN {membership} g ON g.group_id = a.customer_id
JOIN {customer} c ON c.id = g.member_id
JOIN {purchase} pl ON pl.customer_id = g.member_id AND pl.month >= (a.start_month - interval '12 months')::date
     AND {member_in}
JOIN {product} pr ON pr.id = pl.product_id
WHERE a.id = ANY(%s::bigint[]) AND pl.customer_id = ANY(%s::bigint[]) AND {covers}
GROUP BY a.id, c.code, pl.month
ORDER BY a.id, pl.month, c.code
"""

# The members of these agreements' groups: named to the query above, so it reads their lines by index.
_GROUP_MEMBERS_SQL = """
SELECT DISTINCT g.member_id FROM {agreement} a JOIN {membership} g ON g.group_id = a.customer_id
WHERE a.id = ANY(%s::bigint[])
"""


def group_rows(agreement_ids: list[int]) -> list[tuple]:
    """(agreement id, member's code, month, quantity, amount): the purchases in scope of the members of each
    agreement's customer (a buying group) in their membership months, over the term (and the year before it
    for a rule measured against last year); none for an agreement whose customer has no members; one query."""
    if not agreement_ids:
        return []
    tables = {"agreement": table(RebateAgreement), "membership": table(GroupMembership)}
    sql = _GROUP_SQL.format(
        **tables, customer=table(Customer), purchase=table(PurchaseLine), product=table(Product),
        member_in=member_in_sql(),
        covers=covers_sql(or_before_term=(f"EXISTS (SELECT 1 FROM {table(RebateRule)} r "
                                          f"WHERE r.agreement_id = a.id AND r.baseline = 'last_year')")))
    with connection.cursor() as cursor:
        cursor.execute(_GROUP_MEMBERS_SQL.format(**tables), [array_literal(agreement_ids)])
        members = sorted(member for (member,) in cursor.fetchall())
        if not members:
            return []
        cursor.execute(sql, [array_literal(agreement_ids), array_literal(members)])
        return cursor.fetchall()


# Purchases in scope of products in their clearance window (the clearance kind), per (agreement, month).
_CLEARANCE_SQL = """
SELECT a.id, pl.month, SUM(pl.quantity), SUM(pl.amount)
FROM {agreement} a
JOIN {purchase} pl ON pl.customer_id = a.customer_id
{window}JOIN {product} pr ON pr.id = pl.product_id
WHERE a.id = ANY(%s::bigint[]) AND pr.clearance_from <= pl.month AND pr.clearance_until >= pl.month
  AND {covers}
GROUP BY a.id, pl.month
ORDER BY a.id, pl.month
"""

# Purchases in scope per (agreement, month, product line) (the product mix kind).
_MIX_SQL = """
SELECT a.id, pl.month, pr.product_line_id, SUM(pl.quantity), SUM(pl.amount)
FROM {agreement} a
JOIN {purchase} pl ON pl.customer_id = a.customer_id
{window}JOIN {product} pr ON pr.id = pl.product_id
WHERE a.id = ANY(%s::bigint[]) AND {covers}
GROUP BY a.id, pl.month, pr.product_line_id
ORDER BY a.id, pl.month, pr.product_line_id
"""


def clearance_rows(agreement_ids: list[int], months=None) -> list[tuple]:
    """(agreement id, month, quantity, amount): each agreement's purchases in scope, in its term, of products
    in their clearance window that month (for an agreement in `months`, in the months it names only: see
    `_per_agreement_rows`)."""
    return _per_agreement_rows(_CLEARANCE_SQL, agreement_ids, months)


def mix_rows(agreement_ids: list[int], months=None) -> list[tuple]:
    """(agreement id, month, product line id, quantity, amount): each agreement's purchases in scope, in its
    term, per product line (for an agreement in `months`, in the months it names only: see
    `_per_agreement_rows`)."""
    return _per_agreement_rows(_MIX_SQL, agreement_ids, months)


def _per_agreement_rows(template: str, agreement_ids: list[int], months=None) -> list[tuple]:
    """The rows of `template` for these agreements: one query for those not in `months` (over their term) and
    one for those in it (`months` maps an agreement to the months to read; its lines are read by customer and
    month, those months only), each only when it has agreements."""
    months = months or {}
    whole = [pk for pk in agreement_ids if pk not in months]
    pairs = [(pk, month) for pk in agreement_ids if pk in months for month in sorted(months[pk])]
    rows = []
    with connection.cursor() as cursor:
        for ids, window in ((whole, None), (sorted({pk for pk, _ in pairs}), pairs)):
            if not ids:
                continue
            sql = template.format(agreement=table(RebateAgreement), customer=table(Customer),
                                  purchase=table(PurchaseLine), product=table(Product), covers=covers_sql(),
                                  window=_WINDOW_SQL if window is not None else "")
            params = [] if window is None else [array_literal(pk for pk, _ in window),
                                                array_literal(month for _, month in window)]
            cursor.execute(sql, [*params, array_literal(ids)])
            rows += cursor.fetchall()
    return rows
