"""The contract price rule (rebates.prices): each product of a scope priced on its own, stated or by its line's
discount off list price; the Python reading and the SQL expression agree; and the data migration that moved
each agreement's single price onto the products it priced."""

import itertools
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from rebates.models import RebateAgreement
from rebates.prices import covered_price_totals, discounted, price_in_force, product_price_sql, product_prices
from rebates.scope import covering_by_product
from rebates.sql import prices as prices_sql
from tests.factories import (
    AgreementFactory,
    ContractPriceFactory,
    CustomerFactory,
    LineDiscountFactory,
    ProductFactory,
    ProductLineFactory,
    PurchaseLineFactory,
)

JULY = date(2026, 7, 1)


def test_a_discount_is_off_list_price_to_four_places_half_up():
    assert discounted(Decimal("24.00"), Decimal("10")) == Decimal("21.6000")
    assert discounted(Decimal("13.75"), Decimal("12.5")) == Decimal("12.0313")  # 12.03125


def test_a_stated_price_wins_over_the_lines_discount_and_each_takes_its_latest_step():
    stated = [(date(2026, 1, 1), Decimal("12.10")), (JULY, Decimal("11.40"))]
    discounts = [(date(2026, 1, 1), Decimal("10"))]
    assert price_in_force(stated=stated, discounts=discounts, list_price=Decimal("24"), on=date(2026, 6, 30)) == (
        Decimal("12.10"))
    assert price_in_force(stated=stated, discounts=discounts, list_price=Decimal("24"), on=JULY) == Decimal("11.40")
    assert price_in_force(stated=[], discounts=discounts, list_price=Decimal("24"), on=JULY) == Decimal("21.6000")
    assert price_in_force(stated=[], discounts=discounts, list_price=Decimal("24"), on=JULY, bought=False) is None
    assert price_in_force(stated=[], discounts=[], list_price=Decimal("24"), on=JULY) is None


@pytest.mark.django_db
@pytest.mark.parametrize("bought_only_for_lines", [False, True])
def test_the_python_rule_and_the_sql_expression_agree(bought_only_for_lines):
    line = ProductLineFactory()
    named, of_line, elsewhere = (ProductFactory(product_line=line, list_price=Decimal("24.00")),
                                 ProductFactory(product_line=line, list_price=Decimal("13.75")), ProductFactory())
    by_product = AgreementFactory(products=[named])
    ContractPriceFactory(agreement=by_product, product=named, net_price=Decimal("21.56"))
    ContractPriceFactory(agreement=by_product, product=named, net_price=Decimal("20.00"), effective_from=JULY)
    by_line = AgreementFactory()
    by_line.product_lines.set([line])
    LineDiscountFactory(agreement=by_line, product_line=line, discount_percent=Decimal("12.5"))
    ContractPriceFactory(agreement=by_line, product=named, net_price=Decimal("22.00"), effective_from=JULY)
    PurchaseLineFactory(customer=by_line.customer, product=of_line, month=date(2026, 5, 1))
    never = AgreementFactory(customer=CustomerFactory())
    never.product_lines.set([line])
    LineDiscountFactory(agreement=never, product_line=line, discount_percent=Decimal("5"))
    agreements = (by_product, by_line, never)

    for product, on in itertools.product((named, of_line, elsewhere), (date(2026, 3, 31), JULY, date(2026, 12, 1))):
        expected = product_prices([(a.pk, product.pk) for a in agreements], on=on,
                                  bought_only_for_lines=bought_only_for_lines)
        found = dict(RebateAgreement.objects.filter(pk__in=[a.pk for a in agreements]).annotate(
            price=product_price_sql(product.pk, on=on, bought_only_for_lines=bought_only_for_lines))
            .values_list("pk", "price"))
        assert {pk: price for pk, price in found.items() if price is not None} == {
            a: price for (a, _), price in expected.items()}, (product.sku, on)
    # The figures themselves, on a date after the line's customer bought.
    assert product_prices([(by_line.pk, of_line.pk), (never.pk, of_line.pk)], on=JULY,
                          bought_only_for_lines=True) == {(by_line.pk, of_line.pk): Decimal("12.0313")}


@pytest.mark.django_db
@pytest.mark.parametrize("wide", [False, True], ids=["products-named", "every-product-read"])
def test_the_aggregate_statement_sums_what_the_python_rule_prices_in_every_covering_agreement(wide, monkeypatch):
    # A wide request (a nightly sweep's hundreds of products) reads the last purchases of every product.
    monkeypatch.setattr(prices_sql, "WIDE_REQUEST", 1 if wide else 10**9)
    line = ProductLineFactory()
    named, of_line, bought_late = (ProductFactory(product_line=line, list_price=Decimal("24.00")),
                                   ProductFactory(product_line=line, list_price=Decimal("13.75")),
                                   ProductFactory(product_line=line, list_price=Decimal("9.99")))
    unpriced = ProductFactory()
    by_product = AgreementFactory(products=[named, unpriced])
    ContractPriceFactory(agreement=by_product, product=named, net_price=Decimal("21.56"))
    ContractPriceFactory(agreement=by_product, product=named, net_price=Decimal("20.00"), effective_from=JULY)
    by_line = AgreementFactory(products=[of_line])
    by_line.product_lines.set([line])
    LineDiscountFactory(agreement=by_line, product_line=line, discount_percent=Decimal("12.5"))
    LineDiscountFactory(agreement=by_line, product_line=line, discount_percent=Decimal("15"), effective_from=JULY)
    ContractPriceFactory(agreement=by_line, product=named, net_price=Decimal("22.00"), effective_from=JULY)
    PurchaseLineFactory(customer=by_line.customer, product=of_line, month=date(2026, 5, 1))
    PurchaseLineFactory(customer=by_line.customer, product=bought_late, month=date(2026, 9, 1))
    PurchaseLineFactory(customer=by_line.customer, product=named, month=date(2025, 11, 1))  # before the term
    also_line = AgreementFactory(customer=CustomerFactory())
    also_line.product_lines.set([line])
    LineDiscountFactory(agreement=also_line, product_line=line, discount_percent=Decimal("5"))
    PurchaseLineFactory(customer=also_line.customer, product=of_line, month=date(2026, 2, 1))
    PurchaseLineFactory(customer=also_line.customer, product=named, month=date(2026, 3, 1), quantity=Decimal("0"))
    not_asked = ProductFactory(product_line=line, list_price=Decimal("5.00"))  # bought, in the line, not asked
    PurchaseLineFactory(customer=by_line.customer, product=not_asked, month=date(2026, 2, 1))
    draft = AgreementFactory(products=[named], status=RebateAgreement.Status.DRAFT)
    ContractPriceFactory(agreement=draft, product=named, net_price=Decimal("1.00"))
    products = (named, of_line, bought_late, unpriced)

    for on in (date(2026, 3, 31), JULY, date(2026, 12, 1)):
        covering = covering_by_product([p.pk for p in products], status=RebateAgreement.Status.ACTIVE)
        prices = product_prices([(a, p) for p, agreements in covering.items() for a in agreements], on=on,
                                bought_only_for_lines=True)
        expected = {}
        for (_, product_id), price in prices.items():
            total, count = expected.get(product_id, (Decimal("0"), 0))
            expected[product_id] = (total + price, count + 1)
        assert covered_price_totals([p.pk for p in products], on=on,
                                    status=RebateAgreement.Status.ACTIVE) == expected, on
    # The figures themselves in July: named stated twice (20.00 and 22.00), of_line by both lines' discounts.
    assert covered_price_totals([p.pk for p in products], on=JULY, status=RebateAgreement.Status.ACTIVE) == {
        named.pk: (Decimal("42.0000"), 2), of_line.pk: (Decimal("11.6875") + Decimal("13.0625"), 2)}
    assert covered_price_totals([], on=JULY, status=RebateAgreement.Status.ACTIVE) == {}


def migration(app, ends_with):
    """(app, name) of the app's migration named for what it does (numbers may be changed when merging)."""
    names = [name for found, name in MigrationExecutor(connection).loader.disk_migrations
             if found == app and name.endswith(ends_with)]
    assert len(names) == 1, names
    return app, names[0]


def previous(app, ends_with):
    app, name = migration(app, ends_with)
    parents = [parent for parent in MigrationExecutor(connection).loader.graph.node_map[(app, name)].parents
               if parent.key[0] == app]
    return parents[0].key


@pytest.fixture
def back_to_latest_migrations():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_moves_each_single_price_and_its_history_onto_the_products_it_priced(
        back_to_latest_migrations):
    new = [migration("rebates", "_contract_prices_per_product"),
           migration("pricing_signals", "_decision_history_and_matches_per_product")]
    old = [previous(app, name.split("_", 1)[1]) for app, name in new]
    executor = MigrationExecutor(connection)
    executor.migrate(old)
    apps = executor.loader.project_state(old).apps
    Line, Product, Customer, Segment = (apps.get_model("rebates", "ProductLine"), apps.get_model("rebates", "Product"),
                                        apps.get_model("customers", "Customer"), apps.get_model("customers", "Segment"))
    Program, Agreement = apps.get_model("rebates", "RebateProgram"), apps.get_model("rebates", "RebateAgreement")
    Price, Purchase = apps.get_model("rebates", "ContractPrice"), apps.get_model("rebates", "PurchaseLine")
    Signal = apps.get_model("pricing_signals", "MarketSignal")
    Match = apps.get_model("pricing_signals", "SignalPriceMatch")
    User = apps.get_model("auth", "User")
    line = Line.objects.create(code="fasteners", name="Fasteners")
    bolt, nut, washer = (Product.objects.create(sku=sku, name=sku, product_line=line, list_price=Decimal("24"))
                         for sku in ("FAS-101", "FAS-202", "FAS-303"))
    segment = Segment.objects.create(code="s", name="S")
    program = Program.objects.create(code="p", name="P")
    made = {}
    for number, code in (("AG-NAMED", "C1"), ("AG-LINE", "C2"), ("AG-LINE-NOTHING-BOUGHT", "C3")):
        customer = Customer.objects.create(code=code, name=code, segment=segment)
        made[number] = Agreement.objects.create(number=number, customer=customer, program=program,
                                                start_month=date(2026, 1, 1), end_month=date(2026, 12, 1),
                                                status="active")
    made["AG-NAMED"].products.set([bolt, nut])
    for number in ("AG-LINE", "AG-LINE-NOTHING-BOUGHT"):
        made[number].product_lines.set([line])
    Purchase.objects.create(erp_line_id="L1", customer=made["AG-LINE"].customer, product=nut,
                            month=date(2026, 3, 1), quantity=5, unit_price=21, amount=105)
    for agreement in made.values():
        Price.objects.create(agreement=agreement, effective_from=date(2026, 1, 1), net_price=Decimal("21.56"),
                             reason="contract start")
    matched = Price.objects.create(agreement=made["AG-LINE"], effective_from=date(2026, 10, 1),
                                   net_price=Decimal("11.40"), reason="matched market signal #1")
    user = User.objects.create(username="pricing")
    signal = Signal.objects.create(product=bolt, window_start=date(2026, 9, 1), window_end=date(2026, 9, 20),
                                   median_price=Decimal("11.40"), status="matched", decision="match",
                                   decided_by=user, match_price=Decimal("11.40"),
                                   match_effective_from=date(2026, 10, 1))
    Match.objects.create(signal=signal, contract_price=matched)

    executor = MigrationExecutor(connection)
    executor.migrate(new)
    apps = executor.loader.project_state(new).apps
    Price = apps.get_model("rebates", "ContractPrice")
    steps = {number: sorted(Price.objects.filter(agreement__number=number).values_list(
        "product__sku", "effective_from", "net_price", "reason")) for number in made}

    # Named products: each keeps the price. A line scope: the products bought (FAS-202), with the whole
    # history; a line none of whose products was bought: every product of the line.
    assert steps["AG-NAMED"] == [("FAS-101", date(2026, 1, 1), Decimal("21.5600"), "contract start"),
                                 ("FAS-202", date(2026, 1, 1), Decimal("21.5600"), "contract start")]
    assert steps["AG-LINE"] == [
        ("FAS-101", date(2026, 10, 1), Decimal("11.4000"), "matched market signal #1"),
        ("FAS-202", date(2026, 1, 1), Decimal("21.5600"), "contract start"),
        ("FAS-202", date(2026, 10, 1), Decimal("11.4000"), "matched market signal #1")]
    assert [sku for sku, *_ in steps["AG-LINE-NOTHING-BOUGHT"]] == ["FAS-101", "FAS-202", "FAS-303"]
    # The signal's match now names the signal's product, and its decision is the first of its history.
    match = apps.get_model("pricing_signals", "SignalPriceMatch").objects.get()
    assert (match.contract_price.product.sku, match.contract_price.effective_from) == ("FAS-101", date(2026, 10, 1))
    decision = apps.get_model("pricing_signals", "SignalDecision").objects.get()
    assert (decision.decision, decision.match_price, match.decision_id) == ("match", Decimal("11.4000"), decision.pk)
