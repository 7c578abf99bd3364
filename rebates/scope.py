"""The scope rule, owned here: whether an agreement covers a product in a month.

A purchase counts for an agreement when its customer is the agreement's customer, its product is in the
scope (one of the agreement's products, or a product whose product line is one of the agreement's product
lines) and its month lies in the term (start_month <= month <= end_month; months are first-of-month dates).

The rule is spelled once per dialect, and the dialects are tested to agree (tests/rebates/test_scope.py):

- `covers`: plain Python over an `AgreementScope` (frozen values, no Django, no database);
- `covering_q` (agreements covering a product in a month, also `RebateAgreement.objects.covering`) and
  `covered_q` (the purchase lines, or price claims, an agreement covers): the ORM;
- `rebates.sql.scope.covers_sql`: the SQL text every raw query of the rebates app uses.

Reads built on top of the rule (a growth rule's baseline year before the term, launch-bonus products) extend
it where they are read, never restate it.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from django.db.models import BigIntegerField, Q, Value

from rebates.engine.periods import add_months


@dataclass(frozen=True, slots=True)
class AgreementScope:
    """What the scope rule reads of an agreement: its customer, its term and what its scope names."""

    customer_id: int
    start_month: date
    end_month: date
    product_ids: frozenset[int] = frozenset()
    product_line_ids: frozenset[int] = frozenset()

    @classmethod
    def of(cls, agreement) -> "AgreementScope":
        """The scope of an agreement read with its products and product lines (prefetch them for many)."""
        return cls(agreement.customer_id, agreement.start_month, agreement.end_month,
                   frozenset(product.pk for product in agreement.products.all()),
                   frozenset(line.pk for line in agreement.product_lines.all()))


def covers(scope: AgreementScope, product_id: int, product_line_id: int | None, month: date) -> bool:
    """Whether the agreement covers the product (of that product line) in the month (a first-of-month date)."""
    return (scope.start_month <= month <= scope.end_month
            and (product_id in scope.product_ids or product_line_id in scope.product_line_ids))


def counts_for(scope: AgreementScope, customer_id: int, product_id: int, product_line_id: int | None,
               month: date) -> bool:
    """Whether a purchase (its customer, product, product line and month) counts for the agreement."""
    return customer_id == scope.customer_id and covers(scope, product_id, product_line_id, month)


# --- ORM ------------------------------------------------------------------------------------------------


def covering_q(*, product_ids: Iterable[int] = (), product_line_ids=(), month: date | None = None) -> Q:
    """A filter of RebateAgreement: the agreements covering one of the products or a product of one of the
    product lines (ids, or a subquery of line ids) in `month`; in any month of their term when None.

    The scope is read as two lookups in the scope tables' indexes rather than a join of every agreement's
    scope, so an agreement comes once however much of its scope matches."""
    from rebates.models import RebateAgreement

    products = RebateAgreement.products.through.objects.filter(product_id__in=_ids(product_ids))
    lines = RebateAgreement.product_lines.through.objects.filter(productline_id__in=_ids(product_line_ids))
    condition = Q(pk__in=products.values("rebateagreement_id").union(lines.values("rebateagreement_id"), all=True))
    if month is not None:
        condition &= in_term_at_q(month)
    return condition


def in_term_at_q(month: date) -> Q:
    """A filter of RebateAgreement: the agreements whose term holds `month` (a first-of-month date)."""
    return Q(start_month__lte=month, end_month__gte=month)


def _ids(values):
    # A subquery passes through; a list keeps its ids and drops a missing line (None).
    return values if hasattr(values, "query") else [value for value in values if value is not None]


def scope_rows(agreements, *, product_ids: Iterable[int], product_line_ids: Iterable[int], fields: Iterable[str]):
    """Of `agreements` (a RebateAgreement queryset), one row per agreement and each of these products and
    product lines its scope names: (*fields, product id, product line id), the one not named None. One
    query; read what an agreement's scope names of many products at once, then ask `covers`."""
    fields = list(fields)
    none = Value(None, output_field=BigIntegerField())
    named_products = (agreements.filter(products__in=list(product_ids))
                      .values_list(*fields, "products", none))
    named_lines = (agreements.filter(product_lines__in=[pk for pk in product_line_ids if pk is not None])
                   .values_list(*fields, none, "product_lines"))
    return named_products.union(named_lines, all=True)


def covered_q(agreement, *, month: str = "month") -> Q:
    """A filter of a model with `customer`, `product` and a date field `month` (purchase lines; price claims
    with month="reported_on"): the rows the agreement covers. Any day of a covered month counts.

    `agreement`: anything with pk, customer_id, start_month and end_month (its scope is read by subquery)."""
    from rebates.models import RebateAgreement

    products = RebateAgreement.products.through.objects.filter(rebateagreement_id=agreement.pk)
    lines = RebateAgreement.product_lines.through.objects.filter(rebateagreement_id=agreement.pk)
    return Q(customer_id=agreement.customer_id) & in_term_q(agreement, month=month) & (
        Q(product_id__in=products.values("product_id"))
        | Q(product__product_line_id__in=lines.values("productline_id")))


def in_term_q(agreement, *, month: str = "month") -> Q:
    """A filter of a model with a date field `month`: the rows dated in a month of the agreement's term."""
    return Q(**{f"{month}__gte": agreement.start_month, f"{month}__lt": add_months(agreement.end_month, 1)})


def covering_by_product(product_ids: Iterable[int], *, status: str | None = None) -> dict[int, set[int]]:
    """Per product id, the ids of the agreements (with that status when given) whose scope covers it in some
    month of their term: named, or through its product line. Three queries however many products."""
    from rebates.models import Product, RebateAgreement

    ids = sorted({int(pk) for pk in product_ids})
    line_of = dict(Product.objects.filter(pk__in=ids).values_list("pk", "product_line_id"))
    with_status = Q(rebateagreement__status=status) if status is not None else Q()
    direct, by_line = defaultdict(set), defaultdict(set)
    for product_id, agreement_id in RebateAgreement.products.through.objects.filter(
            with_status, product_id__in=ids).values_list("product_id", "rebateagreement_id"):
        direct[product_id].add(agreement_id)
    for line_id, agreement_id in RebateAgreement.product_lines.through.objects.filter(
            with_status, productline_id__in=set(line_of.values())).values_list("productline_id", "rebateagreement_id"):
        by_line[line_id].add(agreement_id)
    return {pk: direct[pk] | by_line[line_of[pk]] for pk in line_of}
