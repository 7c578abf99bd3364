"""The outlook's SQL: the nightly write of every changed customer's value and risk in one statement, and the
open market signals beside the dashboard's page of customers in one read."""

import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from django.db import connection, transaction

from customers.models import Customer
from pricing_signals.models import PriceClaim
from rebates.models import ContractPrice, LineDiscount, Product, PurchaseLine, RebateAgreement
from rebates.sql.terms import array_literal


def valuations_write(rows: Sequence[tuple[int, str, str, int, list]], *, valued_on: date) -> int:
    """Set (value_tier, risk_level, risk_points, risk_reasons) of the customers given as
    (pk, tier, level, points, reasons), and their valued_on to `valued_on`, in one UPDATE over arrays that
    touches only the rows where one of them differs; returns the number of customers whose figures changed
    (a new valued_on alone is not a change)."""
    if not rows:
        return 0
    table = connection.ops.quote_name(Customer._meta.db_table)
    ids, tiers, levels, points, reasons = zip(*rows, strict=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS c SET value_tier = v.tier, risk_level = v.level, risk_points = v.points, "
            "risk_reasons = v.reasons, valued_on = %s "
            "FROM (SELECT v.id, v.tier, v.level, v.points, v.reasons::jsonb AS reasons, "
            "             (o.value_tier, o.risk_level, o.risk_points, o.risk_reasons) "
            "             IS DISTINCT FROM (v.tier, v.level, v.points, v.reasons::jsonb) AS changed "
            "        FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::int[], %s::text[]) "
            "             AS v(id, tier, level, points, reasons) "
            f"       JOIN {table} o ON o.id = v.id) AS v "
            "WHERE c.id = v.id AND (v.changed OR c.valued_on IS DISTINCT FROM %s) "
            "RETURNING v.changed",
            # Each array as one literal (`array_literal`): ten thousand customers' five figures planned as five
            # constants, not one per element (a quarter less of the database's CPU, half the worker's).
            [valued_on, array_literal(ids), array_literal(map(_element, tiers)),
             array_literal(map(_element, levels)), array_literal(points),
             array_literal(_element(json.dumps(r)) for r in reasons), valued_on])
        return sum(1 for (changed,) in cursor.fetchall() if changed)


def _element(text: str | None) -> str:
    """A text element of an `array_literal`, quoted: backslashes and double quotes escaped, as the array syntax wants
    (None: NULL)."""
    if text is None:
        return "NULL"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def customers_net_purchases(*, before: date, start: date, last: date) -> dict[int, tuple[Decimal, Decimal]]:
    """Per customer with purchase lines from the month `before` to the month `last`: (net amount of the months
    from `start` to `last`, net amount of those from `before` to the one before `start`), exact Decimals
    (0.00 where none). One statement.

    Read in customer order from the index of lines by (customer, month), which holds the amounts, and summed
    customer after customer: the planner's choice, a parallel pass over the table hashing ten thousand
    customers, took twice as long on the synthetic book. By one process: the nightly workers keep the cores
    busy with the forecasts beside it, and the planner's parallel workers cost more CPU in all (0.21-0.22 s
    against 0.17-0.18 s on the synthetic book)."""
    sql = f"""
        SELECT customer_id,
               COALESCE(SUM(amount) FILTER (WHERE month >= %(start)s), 0.00),
               COALESCE(SUM(amount) FILTER (WHERE month < %(start)s), 0.00)
          FROM {_table(PurchaseLine)}
         WHERE month >= %(before)s AND month <= %(last)s
         GROUP BY customer_id
         ORDER BY customer_id
    """
    with transaction.atomic(), connection.cursor() as cursor:
        # For this statement's transaction only.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_hashagg = off")
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        cursor.execute(sql, {"before": before, "start": start, "last": last})
        return {customer_id: (now, then) for customer_id, now, then in cursor.fetchall()}


def customers_open_signals(*, customer_ids: Sequence[int], signals: Sequence[tuple[int, int, int | None, Decimal]],
                           on: date, month: date) -> list[tuple[int, int, bool]]:
    """(customer id, signal id, claimed) for each of `customer_ids` and each of `signals` (given as (signal id,
    product id, product line id, median price)) it is marked by: its claims are behind the signal (claimed),
    or, not a claimant, it is exposed to it: an active agreement of the customer whose term holds `month`
    covers the product (named, or through its line) and prices it on `on` above the median (the latest stated
    price effective by `on`, else the latest discount of its line off its list price, to four places,
    half-up, when the customer bought the product in the term up to `month`). One statement.

    The exposure rule of pricing_signals.selectors.open_signals_by_customer (tested to agree), for a page's
    few dozen customers at once: each covering agreement's price, and whether the customer bought the
    product in the term, is looked up by index, so the statement reads only what those customers' agreements
    name (reading their purchase lines at once and grouping them took longer on the synthetic book)."""
    if not customer_ids or not signals:
        return []
    signal_ids, product_ids, line_ids, medians = (list(column) for column in zip(*signals, strict=True))
    agreements, products = _table(RebateAgreement), _table(Product)
    sql = f"""
        WITH signal AS (
            SELECT * FROM unnest(%(signals)s::bigint[], %(products)s::bigint[], %(lines)s::bigint[],
                                 %(medians)s::numeric[]) AS s(id, product_id, line_id, median)
        ), claimed AS (
            SELECT DISTINCT customer_id, signal_id FROM {_table(PriceClaim)}
             WHERE signal_id = ANY(%(signals)s) AND customer_id = ANY(%(customers)s)
        ), agreement AS (
            SELECT id, customer_id, start_month FROM {agreements}
             WHERE customer_id = ANY(%(customers)s) AND status = %(active)s
               AND start_month <= %(month)s AND end_month >= %(month)s
        ), covering AS (
            SELECT a.id AS agreement_id, a.customer_id, a.start_month, s.id AS signal_id, s.product_id, s.median
              FROM agreement a
              JOIN {_table(RebateAgreement.products.through)} sp ON sp.rebateagreement_id = a.id
              JOIN signal s ON s.product_id = sp.product_id
            UNION
            SELECT a.id, a.customer_id, a.start_month, s.id, s.product_id, s.median
              FROM agreement a
              JOIN {_table(RebateAgreement.product_lines.through)} sl ON sl.rebateagreement_id = a.id
              JOIN signal s ON s.line_id = sl.productline_id
        ), priced AS (
            SELECT c.customer_id, c.signal_id, c.median, COALESCE(
                (SELECT cp.net_price FROM {_table(ContractPrice)} cp
                  WHERE cp.agreement_id = c.agreement_id AND cp.product_id = c.product_id
                    AND cp.effective_from <= %(on)s
                  ORDER BY cp.effective_from DESC LIMIT 1),
                CASE WHEN EXISTS (SELECT 1 FROM {_table(PurchaseLine)} pl
                                   WHERE pl.customer_id = c.customer_id AND pl.product_id = c.product_id
                                     AND pl.quantity > 0 AND pl.month >= c.start_month
                                     AND pl.month <= %(month)s)
                     THEN (SELECT ROUND(p.list_price * (100 - ld.discount_percent) / 100, 4)
                             FROM {_table(LineDiscount)} ld
                            WHERE ld.agreement_id = c.agreement_id AND ld.product_line_id = p.product_line_id
                              AND ld.effective_from <= %(on)s
                            ORDER BY ld.effective_from DESC LIMIT 1)
                END) AS price
              FROM covering c
              JOIN {products} p ON p.id = c.product_id
        )
        SELECT customer_id, signal_id, FALSE FROM priced
         WHERE price > median
           AND NOT EXISTS (SELECT 1 FROM claimed k
                            WHERE k.customer_id = priced.customer_id AND k.signal_id = priced.signal_id)
        UNION
        SELECT customer_id, signal_id, TRUE FROM claimed
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"signals": signal_ids, "products": product_ids, "lines": line_ids, "medians": medians,
                             "customers": list(customer_ids), "on": on, "month": month,
                             "active": RebateAgreement.Status.ACTIVE})
        return cursor.fetchall()


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)
