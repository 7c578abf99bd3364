"""The contract price rule (rebates.prices) as one aggregate statement: the prices of many products in every
agreement of a status that covers them, summed per product in the database.

rebates.prices spells the rule in plain Python (`product_prices`) and as an ORM expression
(`product_price_sql`); this is its third spelling, for a read over every agreement at once (our average
price of every product a nightly sweep of market signals touches), tested to agree with the other two.
"""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.db import connection

from rebates.models import ContractPrice, LineDiscount, Product, PurchaseLine, RebateAgreement
from rebates.sql.scope import table

WIDE_REQUEST = 100  # products asked for at once from which the last months are read for every product


def covered_price_totals(product_ids: Iterable[int], *, on: date, month: date,
                         status: str) -> dict[int, tuple[Decimal, int]]:
    """Per product of `product_ids`: (sum, count) of its prices on `on` in the agreements of `status` whose
    scope covers it (named, or through its product line, in some month of their term) and that actually price
    it: the latest stated price effective by `on`, else the latest discount of its line off its list price
    (to four places, half-up) when the agreement's customer bought the product in the term up to `month` (the
    month of `on`). Products no such agreement prices are left out. One statement.

    Set-based: the steps in force and the last month each customer bought each product are found once and
    hash-joined to the covering pairs (hundreds of thousands of them for a nightly sweep: an index probe
    per pair would cost seconds); each price is worked out once, then summed and counted. For a wide
    request (WIDE_REQUEST products or more: a nightly sweep asks for every product) the last months are
    read for every product in one pass over the (customer, product, month) index, which carries the
    quantity: grouped in the index's order, no line is visited and nothing is hashed or spilled (naming
    the products instead makes PostgreSQL fetch every line through the product index and hash-aggregate
    them: twice the time of the whole statement). A narrow request (a claim check: a product or two)
    reads the lines of its products only."""
    ids = sorted({int(pk) for pk in product_ids})
    if not ids:
        return {}
    agreements, products = table(RebateAgreement), table(Product)
    sql = f"""
        WITH covering AS (
            SELECT sp.rebateagreement_id AS agreement_id, sp.product_id
              FROM {table(RebateAgreement.products.through)} sp
              JOIN {agreements} a ON a.id = sp.rebateagreement_id
             WHERE a.status = %(status)s AND sp.product_id = ANY(%(products)s)
            UNION
            SELECT sl.rebateagreement_id, p.id
              FROM {table(RebateAgreement.product_lines.through)} sl
              JOIN {agreements} a ON a.id = sl.rebateagreement_id
              JOIN {products} p ON p.product_line_id = sl.productline_id
             WHERE a.status = %(status)s AND p.id = ANY(%(products)s)
        ), stated AS (
            SELECT DISTINCT ON (agreement_id, product_id) agreement_id, product_id, net_price
              FROM {table(ContractPrice)}
             WHERE effective_from <= %(on)s AND product_id = ANY(%(products)s)
             ORDER BY agreement_id, product_id, effective_from DESC
        ), discount AS (
            SELECT DISTINCT ON (agreement_id, product_line_id) agreement_id, product_line_id, discount_percent
              FROM {table(LineDiscount)}
             WHERE effective_from <= %(on)s
               AND product_line_id IN (SELECT product_line_id FROM {products} WHERE id = ANY(%(products)s))
             ORDER BY agreement_id, product_line_id, effective_from DESC
        ), last_bought AS (
            SELECT customer_id, product_id, MAX(month) AS month
              FROM {table(PurchaseLine)}
             WHERE (%(wide)s OR product_id = ANY(%(products)s)) AND quantity > 0 AND month <= %(month)s
             GROUP BY customer_id, product_id
        ), priced AS MATERIALIZED (
            SELECT c.product_id,
                   COALESCE(s.net_price, CASE WHEN b.month >= a.start_month
                       THEN ROUND(p.list_price * (100 - d.discount_percent) / 100, 4) END) AS price
              FROM covering c
              JOIN {agreements} a ON a.id = c.agreement_id
              JOIN {products} p ON p.id = c.product_id
              LEFT JOIN stated s ON s.agreement_id = c.agreement_id AND s.product_id = c.product_id
              LEFT JOIN discount d ON d.agreement_id = c.agreement_id AND d.product_line_id = p.product_line_id
              LEFT JOIN last_bought b ON b.customer_id = a.customer_id AND b.product_id = c.product_id
        )
        SELECT product_id, SUM(price), COUNT(price) FROM priced WHERE price IS NOT NULL GROUP BY product_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"status": status, "products": ids, "on": on, "month": month,
                             "wide": len(ids) >= WIDE_REQUEST})
        return {product_id: (total, count) for product_id, total, count in cursor.fetchall()}
