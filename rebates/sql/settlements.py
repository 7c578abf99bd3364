"""SQL of the nightly close (rebates.services.settlement.settlements_close_due): every due settlement period
and interim payment of a batch of agreements drafted in one statement each, with the figures
`settlement_figures` gives when they are closed one at a time, oldest first, and one audit row each.

One at a time, the k-th period of an agreement closed in a batch pays
    accrued_k + adjustments_k - already_paid_k, where
    accrued_k = earned in first_k..last_k,
    adjustments_k = earned before first_k - settled (ending) before first_k - what the batch's earlier
                    closings of the agreement pay,
    already_paid_k = interim payments within first_k..last_k.
So the batch's closings up to k pay X_k = earned through last_k - settled before first_k - already_paid_k
together, and the k-th pays X_k - X_(k-1): a running sum and a LAG, exact in numeric. Interim payments
within one period are the same with already_paid_i = the interims before i (existing and the batch's).
"""

from datetime import date

from django.db import connection

from customers.models import AuditRecord, Customer
from rebates.engine.periods import SettlementFrequency
from rebates.models import EARNED_KINDS, LedgerEntry, RebateAgreement, Settlement
from rebates.sql.scope import table
from rebates.sql.terms import array_literal

_FORFEITED = Settlement.Status.FORFEITED.value
_TARGET = Settlement._meta.label_lower

_DUE_SQL = """
SELECT id FROM {agreement} WHERE status = ANY(%s::text[]) AND start_month < %s
  AND id > COALESCE(%s::bigint, 0) AND id <= COALESCE(%s::bigint, 9223372036854775807) ORDER BY id
"""


def agreements_due(*, statuses, started_before: date) -> list[int]:
    """The ids, in order, of the agreements with one of `statuses` that started before `started_before`,
    without locking them."""
    with connection.cursor() as cursor:
        cursor.execute(_DUE_SQL.format(agreement=table(RebateAgreement)),
                       [list(statuses), started_before, None, None])
        return [pk for (pk,) in cursor.fetchall()]


def agreements_lock(*, statuses, started_before: date, after: int | None = None,
                    through: int | None = None) -> list[int]:
    """Lock the agreements with one of `statuses` that started before `started_before` (and whose id is above
    `after` and at most `through`, when given), in primary-key order (so two closes at once queue behind each
    other, never deadlock); their ids in that order.

    Also turns JIT off for the rest of the caller's transaction: compiling the statements below costs
    seconds (their estimates pass jit_above_cost) and saves nothing; and gives them the memory to sort the
    book's ledger sums without spilling to disk."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(_DUE_SQL.format(agreement=table(RebateAgreement)) + " FOR UPDATE",
                       [list(statuses), started_before, after, through])
        return [pk for (pk,) in cursor.fetchall()]


def _frequencies() -> list[list]:
    """[names, months] of the settlement frequencies, the parameters of the `frequency` table below."""
    return [[f.value for f in SettlementFrequency], [f.months for f in SettlementFrequency]]


# Every month of a term belongs to one settlement period, numbered from 0 (months before the term's start
# to a period -1 of their own): the ledger's earned entries and the settlements are summed per (agreement,
# period holding their month) in one pass, beside a zero row for each due period, and a running sum over
# those periods gives what was earned (settled) before a period's first month and through its last. A
# month's number comes from a calendar of the months the batch's terms span (integers, no date arithmetic
# per entry). Entries and settlements after the term's end count for no due period: every due period ends
# by then.
_CLOSINGS_SQL = """
WITH frequency(name, months) AS (SELECT * FROM unnest(%(names)s::text[], %(months)s::int[])),
term AS MATERIALIZED (
    SELECT a.id, a.start_month, a.end_month, f.months, cu.currency
    FROM {agreement} a
    JOIN unnest(%(ids)s::bigint[]) AS batch(id) ON batch.id = a.id
    JOIN frequency f ON f.name = a.settlement_frequency
    JOIN {customer} cu ON cu.id = a.customer_id
),
period AS (
    SELECT t.id AS agreement_id, p.first::date AS first, p.number::int - 1 AS number,
           LEAST((p.first + make_interval(months => t.months - 1))::date, t.end_month) AS last
    FROM term t
    CROSS JOIN LATERAL generate_series(t.start_month::timestamp, t.end_month::timestamp,
                                       make_interval(months => t.months)) WITH ORDINALITY AS p(first, number)
),
due AS MATERIALIZED (
    SELECT p.* FROM period p
    WHERE p.last < %(as_of_month)s
      AND NOT EXISTS (SELECT 1 FROM {settlement} s
                      WHERE s.agreement_id = p.agreement_id AND s.period_start = p.first AND NOT s.interim)
),
calendar AS MATERIALIZED (
    SELECT m::date AS month, (row_number() OVER (ORDER BY m))::int AS n
    FROM generate_series((SELECT MIN(start_month) FROM term)::timestamp, (SELECT MAX(end_month) FROM term)::timestamp,
                         interval '1 month') AS m
),
due_term AS MATERIALIZED (
    SELECT t.id, t.start_month, t.end_month, t.months, c.n AS start_n
    FROM term t JOIN calendar c ON c.month = t.start_month
    WHERE t.id IN (SELECT agreement_id FROM due)
),
numbered AS (
    SELECT e.agreement_id, CASE WHEN e.period < t.start_month THEN -1 ELSE (c.n - t.start_n) / t.months END AS number,
           e.amount AS earned, 0::numeric AS settled
    FROM {ledger} e JOIN due_term t ON t.id = e.agreement_id LEFT JOIN calendar c ON c.month = e.period
    WHERE e.kind = ANY(%(earned_kinds)s::text[]) AND e.period <= t.end_month
    UNION ALL
    SELECT s.agreement_id, CASE WHEN s.period_end < t.start_month THEN -1 ELSE (c.n - t.start_n) / t.months END,
           0, s.amount
    FROM {settlement} s JOIN due_term t ON t.id = s.agreement_id LEFT JOIN calendar c ON c.month = s.period_end
    WHERE s.status <> %(forfeited)s AND s.period_end <= t.end_month
    UNION ALL
    SELECT agreement_id, number, 0, 0 FROM due
),
by_period AS (
    SELECT agreement_id, number, SUM(earned) AS earned, SUM(settled) AS settled
    FROM numbered GROUP BY agreement_id, number
),
running AS (
    SELECT agreement_id, number,
           SUM(earned) OVER w - earned AS earned_before,
           SUM(settled) OVER w - settled AS settled_before,
           SUM(earned) OVER w AS earned_through
    FROM by_period
    WINDOW w AS (PARTITION BY agreement_id ORDER BY number)
),
paid AS (
    SELECT d.agreement_id, d.first, SUM(s.amount) AS amount
    FROM due d JOIN {settlement} s ON s.agreement_id = d.agreement_id AND s.interim
         AND s.status <> %(forfeited)s AND s.period_start >= d.first AND s.period_end <= d.last
    GROUP BY d.agreement_id, d.first
),
together AS (
    SELECT d.agreement_id, d.first, d.last, m.earned_before, m.settled_before, m.earned_through,
           COALESCE(p.amount, 0) AS already_paid,
           m.earned_through - m.settled_before - COALESCE(p.amount, 0) AS x
    FROM due d
    JOIN running m ON m.agreement_id = d.agreement_id AND m.number = d.number
    LEFT JOIN paid p ON p.agreement_id = d.agreement_id AND p.first = d.first
),
figure AS (
    SELECT t.*, COALESCE(LAG(t.x) OVER (PARTITION BY t.agreement_id ORDER BY t.first), 0) AS x_before
    FROM together t
),
created AS (
    INSERT INTO {settlement} (agreement_id, period_start, period_end, interim, accrued_total, adjustments,
                              already_paid, amount, status, payment_reference, created_at, currency)
    SELECT f.agreement_id, f.first, f.last, FALSE, f.earned_through - f.earned_before,
           f.earned_before - f.settled_before - f.x_before, f.already_paid, f.x - f.x_before, %(draft)s, '', %(now)s,
           t.currency
    FROM figure f JOIN term t ON t.id = f.agreement_id ORDER BY f.agreement_id, f.first
    RETURNING id, agreement_id, period_start, period_end, accrued_total, adjustments, already_paid, amount
),
{audit}
SELECT id FROM created ORDER BY id
"""

# Each due interim payment of the batch's agreements with an interim frequency: the open settlement
# period holding the last complete month, every interim period of it that ended before the month of the
# close (and before the period's last month, which its closing pays) with no live interim payment yet; none
# in a period that already has a live closing (it pays every month of the period).
_INTERIMS_SQL = """
WITH frequency(name, months) AS (SELECT * FROM unnest(%(names)s::text[], %(months)s::int[])),
holding AS (
    SELECT a.id AS agreement_id, fi.months AS step,
           (a.start_month + make_interval(months =>
               ((EXTRACT(YEAR FROM LEAST(%(last_complete)s, a.end_month))::int * 12
                 + EXTRACT(MONTH FROM LEAST(%(last_complete)s, a.end_month))::int)
                - (EXTRACT(YEAR FROM a.start_month)::int * 12 + EXTRACT(MONTH FROM a.start_month)::int))
               / fs.months * fs.months))::date AS first,
           fs.months AS length, a.end_month
    FROM {agreement} a
    JOIN frequency fs ON fs.name = a.settlement_frequency
    JOIN frequency fi ON fi.name = a.interim_frequency
    JOIN unnest(%(ids)s::bigint[]) AS batch(id) ON batch.id = a.id
    WHERE a.interim_frequency <> '' AND a.status = %(active)s AND a.start_month <= %(last_complete)s
),
period AS (
    SELECT agreement_id, step, first,
           LEAST((first + make_interval(months => length - 1))::date, end_month) AS last
    FROM holding
),
due AS (
    SELECT p.agreement_id, p.first, t.through::date AS through
    FROM period p
    CROSS JOIN LATERAL generate_series((p.first + make_interval(months => p.step - 1))::timestamp,
                                       LEAST(%(last_complete)s, (p.last - interval '1 month')::date)::timestamp,
                                       make_interval(months => p.step)) AS t(through)
    WHERE p.last >= %(as_of_month)s
      AND NOT EXISTS (SELECT 1 FROM {settlement} s
                      WHERE s.agreement_id = p.agreement_id AND s.period_start = p.first AND NOT s.interim
                        AND s.status <> %(forfeited)s)
      AND NOT EXISTS (SELECT 1 FROM {settlement} s
                      WHERE s.agreement_id = p.agreement_id AND s.period_start = p.first
                        AND s.period_end = t.through::date AND s.interim AND s.status <> %(forfeited)s)
),
together AS (
    SELECT d.*, b.adjustments, a.accrued, c.paid,
           a.accrued + b.adjustments - c.paid AS y
    FROM due d
    CROSS JOIN LATERAL (
        SELECT COALESCE((SELECT SUM(e.amount) FROM {ledger} e
                         WHERE e.agreement_id = d.agreement_id AND e.kind = ANY(%(earned_kinds)s::text[])
                           AND e.period < d.first), 0)
             - COALESCE((SELECT SUM(s.amount) FROM {settlement} s
                         WHERE s.agreement_id = d.agreement_id AND s.status <> %(forfeited)s
                           AND s.period_end < d.first), 0) AS adjustments) b
    CROSS JOIN LATERAL (
        SELECT COALESCE(SUM(e.amount), 0) AS accrued FROM {ledger} e
        WHERE e.agreement_id = d.agreement_id AND e.kind = ANY(%(earned_kinds)s::text[])
          AND e.period >= d.first AND e.period <= d.through) a
    CROSS JOIN LATERAL (
        SELECT COALESCE(SUM(s.amount), 0) AS paid FROM {settlement} s
        WHERE s.agreement_id = d.agreement_id AND s.interim AND s.status <> %(forfeited)s
          AND s.period_start >= d.first AND s.period_end <= d.through) c
),
figure AS (
    SELECT t.*, COALESCE(LAG(t.y) OVER (PARTITION BY t.agreement_id ORDER BY t.through), 0) AS y_before
    FROM together t
),
created AS (
    INSERT INTO {settlement} (agreement_id, period_start, period_end, interim, accrued_total, adjustments,
                              already_paid, amount, status, payment_reference, created_at, currency)
    SELECT agreement_id, first, through, TRUE, accrued, adjustments, paid + y_before, y - y_before,
           %(draft)s, '', %(now)s, {currency}
    FROM figure ORDER BY agreement_id, through
    RETURNING id, agreement_id, period_start, period_end, accrued_total, adjustments, already_paid, amount
),
{audit}
SELECT id FROM created ORDER BY id
"""

# Each settlement carries its agreement's currency (its customer's), for the sums per currency: the closings
# read it with their terms, an interim payment (far fewer) here.
_CURRENCY_SQL = """(SELECT cu.currency FROM {agreement} ca JOIN {customer} cu ON cu.id = ca.customer_id
            WHERE ca.id = figure.agreement_id)"""

# One audit row per settlement drafted, as audit_record writes it for the nightly close.
_AUDIT_SQL = """
audit AS (
    INSERT INTO {audit_record} (actor_id, actor_label, action, target_type, target_id, summary, data, at)
    SELECT NULL, 'settlement', 'settlement.close', %(target)s, c.id::text,
           LEFT(%(label)s || ' of ' || a.number || ' ' || to_char(c.period_start, 'YYYY-MM') || '..'
                || to_char(c.period_end, 'YYYY-MM') || ': ' || c.amount::text || ' to pay', 300),
           jsonb_build_object('accrued_total', c.accrued_total::text, 'adjustments', c.adjustments::text,
                              'already_paid', c.already_paid::text, 'amount', c.amount::text),
           %(now)s
    FROM created c JOIN {agreement} a ON a.id = c.agreement_id
)
"""


def _draft(sql: str, *, label: str, agreement_ids: list[int], now, **params) -> list[int]:
    tables = {"agreement": table(RebateAgreement), "settlement": table(Settlement), "ledger": table(LedgerEntry),
              "customer": table(Customer)}
    audit = _AUDIT_SQL.format(audit_record=table(AuditRecord), **tables)
    currency = _CURRENCY_SQL.format(**tables)
    names, months = _frequencies()
    with connection.cursor() as cursor:
        cursor.execute(sql.format(audit=audit, currency=currency, **tables), {
            "names": names, "months": months, "ids": array_literal(agreement_ids), "now": now, "label": label,
            "target": _TARGET, "forfeited": _FORFEITED, "draft": Settlement.Status.DRAFT.value,
            "earned_kinds": [str(kind) for kind in EARNED_KINDS], **params,
        })
        return [pk for (pk,) in cursor.fetchall()]


def closings_draft(*, agreement_ids: list[int], as_of_month: date, now) -> list[int]:
    """Draft the closing of every settlement period of these agreements that ended before `as_of_month`
    and has no closing yet, with one audit row each; the new settlements' ids, oldest period first within
    an agreement. The caller holds the agreements' locks."""
    if not agreement_ids:
        return []
    return _draft(_CLOSINGS_SQL, label="Settlement", agreement_ids=agreement_ids, now=now, as_of_month=as_of_month)


def interims_draft(*, agreement_ids: list[int], as_of_month: date, last_complete: date, now) -> list[int]:
    """Draft the interim payments due for these agreements (the active ones with an interim frequency),
    with one audit row each; the new settlements' ids, by agreement and month. The caller holds the
    agreements' locks and has drafted their due closings first."""
    if not agreement_ids:
        return []
    return _draft(_INTERIMS_SQL, label="Interim payment", agreement_ids=agreement_ids, now=now,
                  as_of_month=as_of_month, last_complete=last_complete,
                  active=RebateAgreement.Status.ACTIVE.value)


_EXPIRE_SQL = """
UPDATE {agreement} a SET status = %s FROM unnest(%s::bigint[]) AS batch(id)
WHERE a.id = batch.id AND a.status = %s AND a.end_month < %s
"""


def agreements_expire(*, agreement_ids: list[int], as_of_month: date) -> int:
    """Active agreements among these whose term ended before `as_of_month` become expired; how many."""
    with connection.cursor() as cursor:
        cursor.execute(_EXPIRE_SQL.format(agreement=table(RebateAgreement)), [
            RebateAgreement.Status.EXPIRED.value, array_literal(agreement_ids), RebateAgreement.Status.ACTIVE.value,
            as_of_month])
        return cursor.rowcount
