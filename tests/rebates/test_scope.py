"""The scope rule's three spellings agree (rebates/scope.py): over random agreements (scopes of products and/or
product lines, terms) and random purchase lines in the database, Python's `covers`, the ORM's `covering` and
`covered_q`, and the SQL fragment `covers_sql` (and its products as an array per agreement,
`scope_products_sql` and `products_in_scope_sql` with `in_scope_sql`, within the term) give the same answer for
every (agreement, line) pair; and so do the reads built on them: the lines reported unmatched (both ways), the
engine's monthly totals, the outlook's (the term's and the months before it) and the months an incremental
run recomputes."""

from collections import defaultdict
from datetime import date
from decimal import Decimal
from itertools import count
from unittest import mock

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rebates import terms
from rebates.engine.periods import add_months
from rebates.models import PurchaseLine, RebateAgreement, RebateRule
from rebates.scope import AgreementScope, counts_for, covered_q, covers
from rebates.services import accrual, purchases
from rebates.sql.scope import covers_sql, in_scope_sql, products_in_scope_sql, scope_products_sql, table
from tests.factories import CustomerFactory, ProductFactory, ProductLineFactory, ProgramFactory

pytestmark = pytest.mark.django_db

FIRST = date(2025, 10, 1)  # month 0; the strategies pick months 0 to 8
LINES, PRODUCTS, CUSTOMERS = 3, 6, 2
_numbers = count()


@pytest.fixture
def catalog(db):
    """Three product lines, six products (two per line), two customers and a program."""
    lines = [ProductLineFactory(code=f"scope-line-{i}") for i in range(LINES)]
    return {
        "lines": lines,
        "products": [ProductFactory(sku=f"SCOPE-{i}", product_line=lines[i % LINES]) for i in range(PRODUCTS)],
        "customers": [CustomerFactory(code=f"SCOPE-C{i}") for i in range(CUSTOMERS)],
        "program": ProgramFactory(),
    }


agreement_plans = st.fixed_dictionaries({
    "customer": st.integers(0, CUSTOMERS - 1),
    "start": st.integers(0, 8),
    "length": st.integers(0, 5),
    "products": st.frozensets(st.integers(0, PRODUCTS - 1), max_size=3),
    "lines": st.frozensets(st.integers(0, LINES - 1), max_size=2),
})
line_plans = st.fixed_dictionaries({
    "customer": st.integers(0, CUSTOMERS - 1),
    "product": st.integers(0, PRODUCTS - 1),
    "month": st.integers(0, 8),
    "quantity": st.integers(-5, 40),
})


def make(catalog, agreement_list, line_list):
    """The planned agreements (active, each with a per-unit rule) and purchase lines, stored."""
    agreements = []
    for plan in agreement_list:
        start = add_months(FIRST, plan["start"])
        agreement = RebateAgreement.objects.create(
            number=f"SCOPE-{next(_numbers)}", customer=catalog["customers"][plan["customer"]],
            program=catalog["program"], start_month=start, end_month=add_months(start, plan["length"]),
            status=RebateAgreement.Status.ACTIVE)
        agreement.products.set([catalog["products"][i] for i in plan["products"]])
        agreement.product_lines.set([catalog["lines"][i] for i in plan["lines"]])
        RebateRule.objects.create(agreement=agreement, kind="per_unit", rate_type="per_unit", rate=Decimal("0.25"))
        agreements.append(agreement)
    lines = PurchaseLine.objects.bulk_create(
        PurchaseLine(erp_line_id=f"SCOPE-L{next(_numbers)}", customer=catalog["customers"][plan["customer"]],
                     product=catalog["products"][plan["product"]], month=add_months(FIRST, plan["month"]),
                     quantity=Decimal(plan["quantity"]), unit_price=Decimal("2.0000"),
                     amount=Decimal(plan["quantity"] * 2))
        for plan in line_list)
    return agreements, lines


def scope_of(agreement, catalog, plan) -> AgreementScope:
    """The agreement's scope from the plan's values, not read back from the database."""
    return AgreementScope(agreement.customer_id, agreement.start_month, agreement.end_month,
                          frozenset(catalog["products"][i].pk for i in plan["products"]),
                          frozenset(catalog["lines"][i].pk for i in plan["lines"]))


def pairs_by_sql(agreements) -> set[tuple[int, int]]:
    """(agreement id, line id) of every line of an agreement's customer the SQL fragment says is covered."""
    sql = (f"SELECT a.id, pl.id FROM {table(RebateAgreement)} a "
           f"JOIN {table(PurchaseLine)} pl ON pl.customer_id = a.customer_id "
           f"JOIN {table(PurchaseLine.product.field.related_model)} pr ON pr.id = pl.product_id "
           f"WHERE a.id = ANY(%s::bigint[]) AND {covers_sql()}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [[agreement.pk for agreement in agreements]])
        return set(cursor.fetchall())


def pairs_by_scope_products(agreements) -> set[tuple[int, int]]:
    """As `pairs_by_sql`, with the products in scope as an array per agreement and the term as the caller of
    `scope_products_sql` spells it."""
    sql = (f"SELECT a.id, pl.id FROM {table(RebateAgreement)} a "
           f"JOIN {table(PurchaseLine)} pl ON pl.customer_id = a.customer_id "
           f"JOIN ({scope_products_sql(agreements='%(ids)s')}) c ON c.agreement_id = a.id "
           f"WHERE a.id = ANY(%(ids)s::bigint[]) AND pl.product_id = ANY(c.products) "
           f"AND pl.month >= a.start_month AND pl.month <= a.end_month")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": [agreement.pk for agreement in agreements]})
        return set(cursor.fetchall())


def pairs_by_products_in_scope(agreements) -> set[tuple[int, int]]:
    """As `pairs_by_sql`, with each agreement's products in scope as its own array (`products_in_scope_sql`)
    and each line tested by `in_scope_sql`, as the flat rules' statement reads a changed month."""
    sql = (f"SELECT a.id, pl.id FROM {table(RebateAgreement)} a "
           f"CROSS JOIN LATERAL (SELECT {products_in_scope_sql()} AS products) s "
           f"JOIN {table(PurchaseLine)} pl ON pl.customer_id = a.customer_id "
           f"WHERE a.id = ANY(%(ids)s::bigint[]) AND {in_scope_sql(products='s.products')}")
    with connection.cursor() as cursor:
        cursor.execute(sql, {"ids": [agreement.pk for agreement in agreements]})
        return set(cursor.fetchall())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(agreement_list=st.lists(agreement_plans, min_size=1, max_size=4),
       line_list=st.lists(line_plans, min_size=1, max_size=12))
def test_the_three_spellings_of_the_scope_rule_agree_on_every_agreement_and_line(catalog, agreement_list,
                                                                                 line_list):
    with transaction.atomic():
        agreements, lines = make(catalog, agreement_list, line_list)
        line_of = {product.pk: product.product_line_id for product in catalog["products"]}
        scopes = {a.pk: scope_of(a, catalog, plan) for a, plan in zip(agreements, agreement_list, strict=True)}

        # Python: the rule itself.
        expected = {(a.pk, line.pk) for a in agreements for line in lines
                    if counts_for(scopes[a.pk], line.customer_id, line.product_id, line_of[line.product_id],
                                  line.month)}
        assert expected == {(a.pk, line.pk) for a in agreements for line in lines
                            if line.customer_id == a.customer_id
                            and covers(AgreementScope.of(a), line.product_id, line_of[line.product_id], line.month)}
        # ORM: the agreements covering a line's product in its month; the lines an agreement covers.
        ids = [a.pk for a in agreements]
        by_covering = {(pk, line.pk) for line in lines
                       for pk in RebateAgreement.objects.filter(pk__in=ids, customer_id=line.customer_id)
                       .covering(line.product, line.month).values_list("pk", flat=True)}
        by_covered = {(a.pk, pk) for a in agreements
                      for pk in PurchaseLine.objects.filter(covered_q(a)).values_list("pk", flat=True)}
        # SQL: the fragment every raw query uses.
        by_sql = pairs_by_sql(agreements)
        assert by_covering == by_covered == by_sql == pairs_by_scope_products(agreements) == expected
        assert pairs_by_products_in_scope(agreements) == expected

        # The reads built on the rule: the lines no agreement counts, in one query and matched here.
        rows = [(i, line.erp_line_id, line.customer_id, line.product_id, line.month, line.quantity, line.unit_price,
                 line.amount) for i, line in enumerate(lines)]
        uncovered = [line.erp_line_id for line in lines if not any(line.pk == pk for _, pk in expected)]
        assert purchases._unmatched(rows) == uncovered
        with mock.patch.object(purchases, "LARGE_BATCH", 1):
            assert purchases._unmatched(rows) == uncovered
        # The engine's monthly totals of units in scope.
        units = defaultdict(Decimal)
        for agreement_id, line_id in expected:
            line = next(line for line in lines if line.pk == line_id)
            units[agreement_id, line.month] += line.quantity
        inputs = terms.agreement_inputs([a.pk for a in agreements])
        totals = terms.scope_month_totals(inputs)
        assert {(pk, line.month): line.quantity for pk, found in totals.items() for line in found} == dict(units)
        # The outlook's: the term's months as above, and those before it from each agreement's own first month
        # (the products in scope, whatever the month).
        firsts = {a.pk: add_months(a.start_month, -(a.pk % 3)) for a in inputs}
        before = defaultdict(Decimal)
        for a in agreements:
            for line in lines:
                if (line.customer_id == a.customer_id and firsts[a.pk] <= line.month < a.start_month
                        and counts_for(scopes[a.pk], line.customer_id, line.product_id, line_of[line.product_id],
                                       a.start_month)):
                    before[a.pk, line.month] += line.quantity
        latest = add_months(FIRST, 8)
        outlook = terms.outlook_month_totals(inputs, firsts=firsts, latest=latest)
        assert {(pk, month): total.quantity for pk, found in outlook.items() for month, total in found.items()} == {
            **{key: total for key, total in units.items() if key[1] <= latest}, **before}
        # The months an incremental run recomputes: those of the lines (marked as written) each agreement counts.
        changed = accrual._months_changed_by_marks(snapshot=None, as_of_month=add_months(FIRST, 12))
        months = defaultdict(set)
        for agreement_id, line_id in expected:
            months[agreement_id].add(next(line for line in lines if line.pk == line_id).month)
        assert changed == {pk: frozenset(found) for pk, found in months.items()}
        transaction.set_rollback(True)
