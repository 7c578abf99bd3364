"""Our side of a signal: the contract net price each active agreement has today, averaged per product."""

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import OuterRef, Subquery

from rebates.models import ContractPrice, Product, RebateAgreement

UNIT_PRICE_STEP = Decimal("0.0001")
PERCENT_STEP = Decimal("0.01")


def current_net_price(as_of: date, agreement_ref="pk"):
    """Subquery: the contract net price in force on `as_of` for the agreement at `agreement_ref`."""
    return Subquery(
        ContractPrice.objects.filter(agreement=OuterRef(agreement_ref), effective_from__lte=as_of)
        .order_by("-effective_from").values("net_price")[:1]
    )


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# Every active agreement covering each product (named in its scope, or through the product's line) with
# the net price in force on the as-of date; one agreement counts once even when its scope names both.
_AVERAGES_SQL = """
SELECT cover.product_id, COUNT(*), SUM(cover.net_price) FROM (
  SELECT DISTINCT pr.id AS product_id, a.id AS agreement_id,
    (SELECT cp.net_price FROM {price} cp WHERE cp.agreement_id = a.id AND cp.effective_from <= %s
     ORDER BY cp.effective_from DESC LIMIT 1) AS net_price
  FROM {product} pr
  JOIN {agreement} a ON a.status = 'active'
  WHERE pr.id IN ({ids})
    AND (EXISTS (SELECT 1 FROM {scope_products} sp WHERE sp.rebateagreement_id = a.id AND sp.product_id = pr.id)
         OR EXISTS (SELECT 1 FROM {scope_lines} sl
                    WHERE sl.rebateagreement_id = a.id AND sl.productline_id = pr.product_line_id))
) cover
WHERE cover.net_price IS NOT NULL
GROUP BY cover.product_id
"""


def our_average_prices(product_ids: Iterable[int], *, as_of: date) -> dict[int, Decimal]:
    """Per product: the mean of the net prices in force on `as_of` of the active agreements covering it
    (4 places, half-up). Products no active agreement covers are left out. One query."""
    ids = sorted({int(pk) for pk in product_ids})
    if not ids:
        return {}
    sql = _AVERAGES_SQL.format(
        price=_table(ContractPrice), product=_table(Product), agreement=_table(RebateAgreement),
        scope_products=_table(RebateAgreement.products.through),
        scope_lines=_table(RebateAgreement.product_lines.through), ids=", ".join(map(str, ids)),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [as_of])
        rows = cursor.fetchall()
    # SQLite (the embedded default) sums decimals as doubles: back to an exact figure via its text.
    return {product_id: (Decimal(str(total)) / count).quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP)
            for product_id, count, total in rows}


def drop_percent(our_price: Decimal | None, claimed: Decimal) -> Decimal | None:
    """How far below our price the claimed price is, in percent (negative when it is above)."""
    if not our_price:
        return None
    return ((our_price - claimed) * 100 / our_price).quantize(PERCENT_STEP, rounding=ROUND_HALF_UP)
