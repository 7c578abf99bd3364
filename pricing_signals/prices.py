"""Our side of a signal: the contract net price each active agreement has today, averaged per product."""

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from rebates.models import RebateAgreement
from rebates.prices import covered_price_totals, product_price_sql

UNIT_PRICE_STEP = Decimal("0.0001")
PERCENT_STEP = Decimal("0.01")


def current_net_price(product_id: int, as_of: date, agreement_ref="pk"):
    """An expression over agreements: the contract net price of the product `product_id` in force on `as_of` in
    the agreement at `agreement_ref`, counted only where the agreement actually prices it (a stated price,
    or its line's discount on a product the customer bought in the term: rebates.prices); NULL otherwise."""
    return product_price_sql(product_id, on=as_of, agreement_ref=agreement_ref, bought_only_for_lines=True)


def our_average_prices(product_ids: Iterable[int], *, as_of: date) -> dict[int, Decimal]:
    """Per product: the mean of the product's net prices in force on `as_of` in the active agreements that
    cover it (named in their scope, or through the product's line) and actually price it (a stated price, or
    a line discount on a product the customer bought: rebates.prices), to 4 places, half-up. Products no
    such agreement prices are left out. One query however many products: the prices are summed and counted
    in the database (a nightly sweep asks for hundreds of products over tens of thousands of agreements)."""
    totals = covered_price_totals(product_ids, on=as_of, status=RebateAgreement.Status.ACTIVE)
    return {product_id: (total / count).quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP)
            for product_id, (total, count) in totals.items() if count}


def drop_percent(our_price: Decimal | None, claimed: Decimal) -> Decimal | None:
    """How far below our price the claimed price is, in percent (negative when it is above)."""
    if not our_price:
        return None
    return ((our_price - claimed) * 100 / our_price).quantize(PERCENT_STEP, rounding=ROUND_HALF_UP)
