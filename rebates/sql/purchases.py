"""SQL of the purchase ingest (rebates.services.purchases): codes to ids, the stored lines, the upsert and the
lines no agreement covers.

A batch's lines (thousands of them) are bound as one JSON parameter and unpacked by the database: psycopg2
spells a list as one SQL expression per value, which costs the ingest several times as much to send and to
parse as the rest of the statement.
"""

import json
from collections.abc import Iterable
from datetime import datetime

from django.db import connection

from customers.models import Customer
from rebates.models import ExchangeRate, HeldPurchaseLine, Product, ProductUnit, PurchaseLine, RebateAgreement
from rebates.sql.scope import covers_sql, table
from rebates.units import ProductUnits


def _json(values: Iterable) -> str:
    """Texts, or rows (tuples) of texts, ints, dates and Decimals, as one JSON array (dates and Decimals as
    their text, which the database reads back exactly)."""
    return json.dumps(list(values), default=str)


def _texts() -> str:
    """SQL: the texts of one bound JSON array parameter, as a subquery (for IN)."""
    return "(SELECT json_array_elements_text(%s::json))"


def _rows(*columns: str) -> str:
    """SQL: a FROM item `t` of one bound JSON array of rows (see `_json`), with these "name type" columns and
    `i`, each row's position (1-based)."""
    names = ", ".join(f"(r->>{position})::{column.split()[1]} AS {column.split()[0]}"
                      for position, column in enumerate(columns))
    return f"(SELECT {names}, i FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS e (r, i) OFFSET 0) AS t"


def ids_by(model, field: str, values: list[str]) -> dict[str, int]:
    """{value: id} of the model's rows whose text `field` is one of `values`."""
    column = connection.ops.quote_name(model._meta.get_field(field).column)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column}, id FROM {table(model)} WHERE {column} IN {_texts()}",
                       [_json(values)])
        return dict(cursor.fetchall())


_EXISTING_SQL = """
SELECT erp_line_id, customer_id, product_id, month, quantity, unit_price, amount, unit, quantity_in_unit,
       unit_price_in_unit, currency, unit_price_in_currency, amount_in_currency, exchange_rate
FROM {purchase} WHERE erp_line_id IN {ids}
"""


def stored_lines(erp_line_ids: list[str]) -> list[tuple]:
    """(erp_line_id, customer_id, product_id, month, quantity, unit_price, amount, unit, quantity_in_unit,
    unit_price_in_unit, currency, unit_price_in_currency, amount_in_currency, exchange_rate) of the stored lines
    with these erp_line_ids."""
    with connection.cursor() as cursor:
        cursor.execute(_EXISTING_SQL.format(purchase=table(PurchaseLine), ids=_texts()), [_json(erp_line_ids)])
        return cursor.fetchall()


_LOCK_SQL = """
SELECT erp_line_id, customer_id, product_id, month FROM {purchase}
WHERE erp_line_id IN {ids} ORDER BY erp_line_id FOR UPDATE
"""


def stored_lines_locked(erp_line_ids: list[str]) -> list[tuple]:
    """(erp_line_id, customer_id, product_id, month) of the stored lines with these erp_line_ids, each
    locked (in erp_line_id order) until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL.format(purchase=table(PurchaseLine), ids=_texts()), [_json(erp_line_ids)])
        return cursor.fetchall()


# New and changed lines in erp_line_id order (so concurrent batches lock in the same order). A line that
# a concurrent batch stored meanwhile with the same figures is left alone and not returned: unchanged.
_UPSERT_SQL = """
INSERT INTO {purchase} AS p (erp_line_id, customer_id, product_id, month, quantity, unit_price, amount,
                             unit, quantity_in_unit, unit_price_in_unit,
                             currency, unit_price_in_currency, amount_in_currency, exchange_rate,
                             source, import_batch_id, created_at, updated_at)
SELECT t.erp_line_id, t.customer_id, t.product_id, t.month, t.quantity, t.unit_price, t.amount,
       t.unit, t.quantity_in_unit, t.unit_price_in_unit,
       t.currency, t.unit_price_in_currency, t.amount_in_currency, t.exchange_rate, %s, %s, %s, %s
FROM {rows}
ON CONFLICT (erp_line_id) DO UPDATE SET
    customer_id = EXCLUDED.customer_id, product_id = EXCLUDED.product_id, month = EXCLUDED.month,
    quantity = EXCLUDED.quantity, unit_price = EXCLUDED.unit_price, amount = EXCLUDED.amount,
    unit = EXCLUDED.unit, quantity_in_unit = EXCLUDED.quantity_in_unit,
    unit_price_in_unit = EXCLUDED.unit_price_in_unit,
    currency = EXCLUDED.currency, unit_price_in_currency = EXCLUDED.unit_price_in_currency,
    amount_in_currency = EXCLUDED.amount_in_currency, exchange_rate = EXCLUDED.exchange_rate,
    source = EXCLUDED.source, import_batch_id = EXCLUDED.import_batch_id, updated_at = EXCLUDED.updated_at
WHERE (p.customer_id, p.product_id, p.month, p.quantity, p.unit_price, p.amount, p.unit, p.quantity_in_unit,
       p.unit_price_in_unit, p.currency, p.unit_price_in_currency, p.amount_in_currency, p.exchange_rate)
      IS DISTINCT FROM (EXCLUDED.customer_id, EXCLUDED.product_id, EXCLUDED.month, EXCLUDED.quantity,
                        EXCLUDED.unit_price, EXCLUDED.amount, EXCLUDED.unit, EXCLUDED.quantity_in_unit,
                        EXCLUDED.unit_price_in_unit, EXCLUDED.currency, EXCLUDED.unit_price_in_currency,
                        EXCLUDED.amount_in_currency, EXCLUDED.exchange_rate)
RETURNING xmax = 0
"""


def upsert(rows: list[tuple], *, source: str, batch_id: int, now: datetime) -> list[bool]:
    """Insert or update by erp_line_id the rows (erp_line_id, customer_id, product_id, month, quantity,
    unit_price, amount, unit, quantity_in_unit, unit_price_in_unit, currency, unit_price_in_currency,
    amount_in_currency, exchange_rate), in their order; a stored line with the same figures is left alone.
    Returns, per line written, True when it was inserted and False when it was updated."""
    sql = _UPSERT_SQL.format(purchase=table(PurchaseLine), rows=_rows(
        "erp_line_id text", "customer_id bigint", "product_id bigint", "month date", "quantity numeric",
        "unit_price numeric", "amount numeric", "unit text", "quantity_in_unit numeric",
        "unit_price_in_unit numeric", "currency text", "unit_price_in_currency numeric",
        "amount_in_currency numeric", "exchange_rate numeric"))
    with connection.cursor() as cursor:
        cursor.execute(sql, [source, batch_id, now, now, _json(rows)])
        return [inserted for (inserted,) in cursor.fetchall()]


# The positions (1-based) of the lines no agreement covers: none of the customer's agreements has the
# product in scope and the month in its term.
_UNMATCHED_SQL = """
SELECT t.i FROM {rows}
JOIN {product} pr ON pr.id = t.product_id
WHERE NOT EXISTS (
    SELECT 1 FROM {agreement} a
    WHERE a.customer_id = t.customer_id
      AND {covers}
)
ORDER BY t.i
"""


def uncovered_positions(lines: list[tuple]) -> list[int]:
    """The positions (1-based, in order) of the lines (customer_id, product_id, month) that no agreement
    covers."""
    sql = _UNMATCHED_SQL.format(
        rows=_rows("customer_id bigint", "product_id bigint", "month date"), product=table(Product),
        agreement=table(RebateAgreement), covers=covers_sql(product="t.product_id", month="t.month"))
    with connection.cursor() as cursor:
        cursor.execute(sql, [_json(lines)])
        return [position for (position,) in cursor.fetchall()]


def customers_scopes(customer_ids: list[int]) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """The agreements of these customers as (id, customer_id, start_month, end_month), and their scopes as
    (agreement id, product id) and (agreement id, product line id) pairs."""
    scope_products, scope_lines = RebateAgreement.products.through, RebateAgreement.product_lines.through
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, customer_id, start_month, end_month FROM {table(RebateAgreement)} "
                       f"WHERE customer_id = ANY(%s::bigint[])", [list(customer_ids)])
        agreements = cursor.fetchall()
        ids = [agreement[0] for agreement in agreements]
        cursor.execute(f"SELECT rebateagreement_id, product_id FROM {table(scope_products)} "
                       f"WHERE rebateagreement_id = ANY(%s::bigint[])", [ids])
        products = cursor.fetchall()
        cursor.execute(f"SELECT rebateagreement_id, productline_id FROM {table(scope_lines)} "
                       f"WHERE rebateagreement_id = ANY(%s::bigint[])", [ids])
        lines = cursor.fetchall()
    return agreements, products, lines


def product_units(product_ids: list[int]) -> dict[int, ProductUnits]:
    """{product id: its base unit and conversions} of these products."""
    if not product_ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, base_unit FROM {table(Product)} WHERE id = ANY(%s::bigint[])", [product_ids])
        bases = dict(cursor.fetchall())
        cursor.execute(f"SELECT product_id, code, base_quantity FROM {table(ProductUnit)} "
                       f"WHERE product_id = ANY(%s::bigint[])", [product_ids])
        conversions: dict[int, dict] = {pk: {} for pk in bases}
        for product_id, code, base_quantity in cursor.fetchall():
            conversions[product_id][code] = base_quantity
    return {pk: ProductUnits(base, conversions[pk]) for pk, base in bases.items()}


def product_lines_of(product_ids: list[int]) -> dict[int, int]:
    """{product id: its product line id} of these products."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, product_line_id FROM {table(Product)} WHERE id = ANY(%s::bigint[])",
                       [list(product_ids)])
        return dict(cursor.fetchall())


def customer_currencies(customer_ids: list[int]) -> dict[int, str]:
    """{customer id: its currency} of these customers."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, currency FROM {table(Customer)} WHERE id = ANY(%s::bigint[])", [customer_ids])
        return dict(cursor.fetchall())


def exchange_rates(keys: list[tuple]) -> dict[tuple, object]:
    """{(currency, to_currency, month): rate} of the rates on record among these keys."""
    sql = (f"SELECT r.currency, r.to_currency, r.month, r.rate FROM {table(ExchangeRate)} r "
           f"JOIN {_rows('currency text', 'to_currency text', 'month date')} "
           f"ON r.currency = t.currency AND r.to_currency = t.to_currency AND r.month = t.month")
    with connection.cursor() as cursor:
        cursor.execute(sql, [_json(keys)])
        return {(currency, to_currency, month): rate for currency, to_currency, month, rate in cursor.fetchall()}


def purchase_lines_delete(erp_line_ids: list[str]) -> int:
    """Delete the stored purchase lines with these erp_line_ids (the database marks what they counted for);
    answers how many."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table(PurchaseLine)} WHERE erp_line_id IN {_texts()}", [_json(erp_line_ids)])
        return cursor.rowcount


def held_lines_release(erp_line_ids: list[str]) -> int:
    """Delete the held lines with these erp_line_ids (stored as purchase lines now); answers how many. An
    empty held table (the usual case) is answered without reading the ids."""
    held = table(HeldPurchaseLine)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {held})")
        if not cursor.fetchone()[0]:
            return 0
        cursor.execute(f"DELETE FROM {held} WHERE erp_line_id IN {_texts()}", [_json(erp_line_ids)])
        return cursor.rowcount


_HOLD_SQL = """
INSERT INTO {held} AS h (erp_line_id, customer_id, product_id, month, quantity, unit_price, amount, unit, currency,
                         reason, source, import_batch_id, created_at, updated_at)
SELECT t.erp_line_id, t.customer_id, t.product_id, t.month, t.quantity, t.unit_price, t.amount, t.unit, t.currency,
       t.reason, %s, %s, %s, %s
FROM {rows}
ON CONFLICT (erp_line_id) DO UPDATE SET
    customer_id = EXCLUDED.customer_id, product_id = EXCLUDED.product_id, month = EXCLUDED.month,
    quantity = EXCLUDED.quantity, unit_price = EXCLUDED.unit_price, amount = EXCLUDED.amount, unit = EXCLUDED.unit,
    currency = EXCLUDED.currency, reason = EXCLUDED.reason, source = EXCLUDED.source,
    import_batch_id = EXCLUDED.import_batch_id, updated_at = EXCLUDED.updated_at
"""


def held_lines_upsert(rows: list[tuple], *, source: str, batch_id: int, now: datetime) -> None:
    """Insert or replace by erp_line_id the held lines (erp_line_id, customer_id, product_id, month, quantity,
    unit_price, amount, unit, currency, reason), figures as sent."""
    sql = _HOLD_SQL.format(held=table(HeldPurchaseLine), rows=_rows(
        "erp_line_id text", "customer_id bigint", "product_id bigint", "month date", "quantity numeric",
        "unit_price numeric", "amount numeric", "unit text", "currency text", "reason text"))
    with connection.cursor() as cursor:
        cursor.execute(sql, [source, batch_id, now, now, _json(rows)])
