"""Our side of a signal: the contract net price each active agreement has today, averaged per product."""

from collections.abc import Iterable
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import OuterRef, Subquery

from rebates.models import ContractPrice, RebateAgreement
from rebates.scope import covering_by_product

UNIT_PRICE_STEP = Decimal("0.0001")
PERCENT_STEP = Decimal("0.01")


def current_net_price(as_of: date, agreement_ref="pk"):
    """Subquery: the contract net price in force on `as_of` for the agreement at `agreement_ref`."""
    return Subquery(
        ContractPrice.objects.filter(agreement=OuterRef(agreement_ref), effective_from__lte=as_of)
        .order_by("-effective_from").values("net_price")[:1]
    )


def our_average_prices(product_ids: Iterable[int], *, as_of: date) -> dict[int, Decimal]:
    """Per product: the mean of the net prices in force on `as_of` of the active agreements covering it
    (named in their scope, or through the product's line; an agreement counts once), to 4 places, half-up.
    Products no active agreement covers are left out (rebates.scope.covering_by_product). Four queries however
    many products."""
    ids = sorted({int(pk) for pk in product_ids})
    if not ids:
        return {}
    covering = covering_by_product(ids, status=RebateAgreement.Status.ACTIVE)
    wanted = set().union(*covering.values())
    agreements = RebateAgreement.objects.filter(status=RebateAgreement.Status.ACTIVE)
    if len(wanted) <= 1000:  # a long list of ids costs more than reading every active agreement
        agreements = agreements.filter(pk__in=wanted)
    prices = {pk: price for pk, price in agreements.annotate(price=current_net_price(as_of))
              .values_list("pk", "price") if price is not None}
    averages = {}
    for product_id, agreement_ids in covering.items():
        found = [prices[pk] for pk in agreement_ids if pk in prices]
        if found:
            averages[product_id] = (sum(found) / len(found)).quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP)
    return averages


def drop_percent(our_price: Decimal | None, claimed: Decimal) -> Decimal | None:
    """How far below our price the claimed price is, in percent (negative when it is above)."""
    if not our_price:
        return None
    return ((our_price - claimed) * 100 / our_price).quantize(PERCENT_STEP, rounding=ROUND_HALF_UP)
