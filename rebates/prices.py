"""The contract price rule, owned here: what an agreement charges for one product of its scope on a date.

An agreement prices each product of its scope on its own (docs/contract-prices.md):

- a **stated** price: the latest step of the product's own price history (ContractPrice) effective on the
  date;
- otherwise, for a product covered through a line of the scope, the line's **discount** off the product's
  list price (LineDiscount): list price x (100 - discount) / 100, to four places, half-up;
- otherwise none: the agreement does not price the product.

Where the price is compared with the market (exposure, our average net price of a signal), an agreement
counts only when it *actually* prices the product: a stated price, or a line discount on a product the
customer bought in the term up to the date (`bought_only_for_lines=True`). A line scope that never bought
a product and never stated a price for it has no price for it there.

The rule is spelled three times and tested to agree (tests/rebates/test_prices.py): `price_in_force` and
`product_prices` (plain Python over the steps, read in a fixed number of queries), `product_price_sql`
(an ORM expression for a query over agreements) and `covered_price_totals` (one aggregate statement over
every agreement that covers some products, rebates/sql/prices.py: what our average price of hundreds of
products needs, without reading every step and purchase into Python).
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from django.db.models import Case, DecimalField, F, Max, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, Round
from django.db.models.lookups import GreaterThanOrEqual

from rebates.engine.periods import month_of

UNIT_PRICE_STEP = Decimal("0.0001")
_PRICE = DecimalField(max_digits=14, decimal_places=4)


def discounted(list_price: Decimal, discount_percent: Decimal) -> Decimal:
    """The list price less the discount in percent, to four places, half-up."""
    return (list_price * (100 - discount_percent) / 100).quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP)


def _latest(steps: Sequence[tuple[date, Decimal]], on: date) -> Decimal | None:
    found = None
    for effective_from, value in sorted(steps):
        if effective_from <= on:
            found = value
    return found


def price_in_force(*, stated: Sequence[tuple[date, Decimal]], discounts: Sequence[tuple[date, Decimal]] = (),
                   list_price: Decimal | None = None, on: date, bought: bool = True) -> Decimal | None:
    """The product's price on `on`: its latest stated step effective by then; else its line's latest discount
    step applied to `list_price` when `bought` (pass False to leave an unbought line product unpriced); else
    None. `stated` and `discounts` are (effective_from, value) steps in any order."""
    return _price_of(_latest(stated, on), _latest(discounts, on) if bought else None, list_price)


def _price_of(stated: Decimal | None, discount: Decimal | None, list_price: Decimal | None,
              discount_of=discounted) -> Decimal | None:
    """price_in_force's rule over the steps in force: the stated price, else the discount off the list price."""
    if stated is not None:
        return stated
    if discount is None or list_price is None:
        return None
    return discount_of(list_price, discount)


def product_prices(pairs: Iterable[tuple[int, int]], *, on: date, bought_only_for_lines: bool = False,
                   terms: dict[int, tuple[int, date]] | None = None) -> dict[tuple[int, int], Decimal]:
    """Per (agreement id, product id) pair: the product's price in that agreement on `on` (`price_in_force`);
    pairs the agreement does not price are left out. With `bought_only_for_lines`, a line discount counts
    only for a product the customer bought in the term up to the month of `on`. Four queries (five with
    `bought_only_for_lines`, four again when the caller gives each agreement's (customer id, start month)
    as `terms`) however many pairs."""
    from rebates.models import ContractPrice, LineDiscount, Product, PurchaseLine, RebateAgreement

    pairs = {(int(a), int(p)) for a, p in pairs}
    if not pairs:
        return {}
    agreement_ids = {a for a, _ in pairs}
    product_ids = {p for _, p in pairs}
    products = {pk: (line_id, list_price) for pk, line_id, list_price in
                Product.objects.filter(pk__in=product_ids).values_list("pk", "product_line_id", "list_price")}
    # Each key's step in force on `on`, found once: a line's discount serves every product of the line.
    stated = defaultdict(list)
    for agreement_id, product_id, effective_from, price in (
            ContractPrice.objects.filter(agreement_id__in=agreement_ids, product_id__in=product_ids,
                                         effective_from__lte=on)
            .values_list("agreement_id", "product_id", "effective_from", "net_price")):
        stated[agreement_id, product_id].append((effective_from, price))
    stated = {key: _latest(steps, on) for key, steps in stated.items()}
    discounts = defaultdict(list)
    for agreement_id, line_id, effective_from, percent in (
            LineDiscount.objects.filter(agreement_id__in=agreement_ids, effective_from__lte=on,
                                        product_line_id__in={line for line, _ in products.values()})
            .values_list("agreement_id", "product_line_id", "effective_from", "discount_percent")):
        discounts[agreement_id, line_id].append((effective_from, percent))
    discounts = {key: _latest(steps, on) for key, steps in discounts.items()}
    bought = None
    if bought_only_for_lines and discounts:
        if terms is None:
            terms = {pk: (customer_id, start) for pk, customer_id, start in
                     RebateAgreement.objects.filter(pk__in={a for a, _ in discounts})
                     .values_list("pk", "customer_id", "start_month")}
        customers = {customer_id for customer_id, _ in terms.values()}
        # The last month each customer bought each product up to `on`: bought in the term when not before it.
        last_bought = dict(
            ((customer_id, product_id), last) for customer_id, product_id, last in
            PurchaseLine.objects.filter(customer_id__in=customers, product_id__in=product_ids, quantity__gt=0,
                                        month__lte=month_of(on))
            .order_by().values_list("customer_id", "product_id").annotate(last=Max("month")))
        bought = terms, last_bought
    # Many agreements give a product the same discount: each (list price, discount) is worked out once.
    discount_of = cache(discounted)
    result = {}
    for agreement_id, product_id in pairs:
        if product_id not in products:
            continue
        line_id, list_price = products[product_id]
        price = stated.get((agreement_id, product_id))
        discount = None
        if price is None:
            discount = discounts.get((agreement_id, line_id))
            if discount is not None and bought is not None:
                terms, last_bought = bought
                term = terms.get(agreement_id)
                if term is None or last_bought.get((term[0], product_id), date.min) < term[1]:
                    discount = None
        price = _price_of(price, discount, list_price, discount_of)
        if price is not None:
            result[agreement_id, product_id] = price
    return result


def covered_price_totals(product_ids: Iterable[int], *, on: date, status: str) -> dict[int, tuple[Decimal, int]]:
    """Per product: (sum, count) of its prices on `on` in the agreements of `status` that cover it
    (rebates.scope.covering_by_product) and actually price it, as `product_prices(...,
    bought_only_for_lines=True)` gives them. Products none prices are left out. One query."""
    from rebates.sql.prices import covered_price_totals as totals

    return totals(product_ids, on=on, month=month_of(on), status=status)


def product_price_sql(product_id: int, *, on: date, agreement_ref: str = "pk", bought_only_for_lines: bool = False):
    """An expression over RebateAgreement rows (the agreement at `agreement_ref`; its `customer_id` and
    `start_month` beside it): the price of the product `product_id` in that agreement on `on`, by
    `price_in_force`'s rule (the product's line and list price read in the same statement); NULL when the
    agreement does not price it."""
    from rebates.models import ContractPrice, LineDiscount, Product, PurchaseLine

    product = Product.objects.filter(pk=product_id)
    stated = Subquery(
        ContractPrice.objects.filter(agreement=OuterRef(agreement_ref), product_id=product_id, effective_from__lte=on)
        .order_by("-effective_from").values("net_price")[:1], output_field=_PRICE)
    list_price = Subquery(product.values("list_price")[:1], output_field=_PRICE)
    by_discount = Subquery(
        LineDiscount.objects.filter(agreement=OuterRef(agreement_ref),
                                    product_line_id=Subquery(product.values("product_line_id")[:1]),
                                    effective_from__lte=on)
        .order_by("-effective_from")
        .annotate(price=Round(list_price * (Value(100) - F("discount_percent")) / Value(100), 4,
                              output_field=_PRICE))
        .values("price")[:1], output_field=_PRICE)
    if bought_only_for_lines:
        # Bought in the term up to the month of `on`: the last month bought by then is not before the term.
        # Asked as "the last month" (ORDER BY month DESC LIMIT 1), the planner walks the purchase lines'
        # (customer, product, month) index backwards from that month; asked as EXISTS over a month range, it
        # may scan the customer's lines of every product month by month instead.
        last_bought = Subquery(
            PurchaseLine.objects.filter(customer_id=OuterRef("customer_id"), product_id=product_id, quantity__gt=0,
                                        month__lte=month_of(on))
            .order_by("-month").values("month")[:1])
        by_discount = Case(When(GreaterThanOrEqual(last_bought, F("start_month")), then=by_discount),
                           default=None, output_field=_PRICE)
    return Coalesce(stated, by_discount, output_field=_PRICE)
