"""The exposure of many signals at once (the pricing dashboard's read) gives exactly what the one-signal read
gives for each of them: the same agreements, customers and unpaid rebate (Decimal to the cent), the same
visibility (an account manager counts only their own customers), in a fixed number of queries."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pricing_signals.models import MarketSignal
from pricing_signals.selectors import (
    EXPOSURE_ROW_COLUMNS,
    ExposureRow,
    exposure_statement,
    exposure_total,
    exposure_totals_part,
    exposure_totals_statement,
    signal_exposure,
    signal_exposure_rows,
    signals_exposure_totals,
)
from tests.factories import (
    AgreementFactory,
    CustomerFactory,
    LedgerEntryFactory,
    ProductFactory,
    ProductLineFactory,
    price_every_product,
)
from tests.pricing_signals.conftest import signal_on

pytestmark = pytest.mark.django_db

SEPTEMBER_END, TODAY = date(2026, 9, 30), date(2026, 11, 23)


def agreement(customer, *, products=(), lines=(), prices=(("2026-01-01", "12.10"),), entries=(), **fields):
    made = AgreementFactory(customer=customer, products=list(products), **fields)
    made.product_lines.set(lines)
    for effective_from, net_price in prices:
        price_every_product(made, net_price, date.fromisoformat(effective_from))
    for kind, amount in entries:
        LedgerEntryFactory(agreement=made, kind=kind, amount=Decimal(amount))
    return made


@pytest.fixture
def small_scenario(manager_a, manager_b):
    """Two product lines, four signals (two on the same product), agreements covering them by product and by
    line, one customer with two exposed agreements, a price that drops in October, and agreements that never
    count: ended, without a price, priced at the median, a claimant's."""
    fasteners, anchors = ProductLineFactory(code="fasteners"), ProductLineFactory(code="anchors")
    bolt, nut = ProductFactory(sku="BOLT", product_line=fasteners), ProductFactory(sku="NUT", product_line=fasteners)
    anchor = ProductFactory(sku="ANCHOR", product_line=anchors)
    people = {code: CustomerFactory(code=code, account_manager=manager)
              for code, manager in (("C1", manager_a), ("C2", manager_b), ("C3", manager_a), ("C4", manager_a),
                                    ("C5", manager_b), ("C6", manager_a))}
    agreements = {
        "a1": agreement(people["C1"], products=[bolt], entries=[("accrual", "2.50"), ("accrual", "5.00")]),
        "a2": agreement(people["C2"], lines=[fasteners], prices=[("2026-01-01", "11.50")],
                        entries=[("accrual", "40.00")]),
        "a3": agreement(people["C3"], products=[bolt, anchor],
                        prices=[("2026-01-01", "13.00"), ("2026-10-01", "11.00")],
                        entries=[("accrual", "10.00"), ("adjustment", "-1.25")]),
        "a4": agreement(people["C4"], products=[bolt], prices=[("2026-01-01", "12.90")], status="terminated",
                        terminated_on=date(2026, 6, 30), entries=[("accrual", "99.00")]),
        "a5": agreement(people["C5"], products=[nut], prices=()),
        "a6": agreement(people["C6"], products=[bolt], prices=[("2026-01-01", "11.40")]),
        "a7": agreement(people["C1"], lines=[anchors], prices=[("2026-01-01", "20.00")], entries=[("accrual", "3.33")]),
        "a8": agreement(people["C1"], lines=[fasteners], prices=[("2026-01-01", "12.50")]),
    }
    signals = {
        "bolt": signal_on(bolt, "11.40", people["C6"]),
        "nut": signal_on(nut, "11.00", people["C2"]),
        "anchor": signal_on(anchor, "12.00"),
        "bolt_high": signal_on(bolt, "12.20", people["C4"]),
    }
    return {"people": people, "agreements": agreements, "signals": signals}


def reads(queries):
    """The statements that read (not the transaction's begin and end, nor its settings)."""
    return [query for query in queries.captured_queries if query["sql"].lstrip("(").upper().startswith("SELECT")]


def slow_path(user, signals, as_of):
    return {signal.pk: exposure_total(signal_exposure(user=user, signal=signal, as_of=as_of)) for signal in signals}


@pytest.mark.parametrize("as_of", [SEPTEMBER_END, TODAY])
@pytest.mark.parametrize("who", ["pricing_manager", "manager_a", "manager_b"])
def test_many_signals_at_once_give_what_each_signal_gives_alone(small_scenario, request, who, as_of):
    user = request.getfixturevalue(who)
    signals = list(small_scenario["signals"].values())

    assert signals_exposure_totals(user=user, signals=signals, as_of=as_of) == slow_path(user, signals, as_of)


def test_the_figures_to_the_cent(small_scenario, pricing_manager, manager_a):
    signals = small_scenario["signals"]

    totals = signals_exposure_totals(user=pricing_manager, signals=signals.values(), as_of=SEPTEMBER_END)

    # a1, a2 (by line), a3 and a8 (by line); not a4 (ended), a6 (at the median and a claimant).
    assert totals[signals["bolt"].pk] == {"agreements": 4, "customers": 3, "unpaid_rebate": Decimal("56.25")}
    # a8 by line; a2 is the claimant's, a5 has no price.
    assert totals[signals["nut"].pk] == {"agreements": 1, "customers": 1, "unpaid_rebate": Decimal("0.00")}
    assert totals[signals["anchor"].pk] == {"agreements": 2, "customers": 2, "unpaid_rebate": Decimal("12.08")}
    assert totals[signals["bolt_high"].pk] == {"agreements": 2, "customers": 2, "unpaid_rebate": Decimal("8.75")}
    assert all(isinstance(total["unpaid_rebate"], Decimal) for total in totals.values())
    # In October a3's price drops to 11.00, below both its signals' medians.
    later = signals_exposure_totals(user=pricing_manager, signals=signals.values(), as_of=TODAY)
    assert later[signals["anchor"].pk] == {"agreements": 1, "customers": 1, "unpaid_rebate": Decimal("3.33")}
    assert later[signals["bolt"].pk] == {"agreements": 3, "customers": 2, "unpaid_rebate": Decimal("47.50")}
    # An account manager counts only their own customers: C1's and C3's, not C2's.
    mine = signals_exposure_totals(user=manager_a, signals=[signals["bolt"]], as_of=SEPTEMBER_END)
    assert mine == {signals["bolt"].pk: {"agreements": 3, "customers": 2, "unpaid_rebate": Decimal("16.25")}}


def test_a_fixed_number_of_queries_however_many_signals(small_scenario, pricing_manager, manager_a):
    few = [small_scenario["signals"]["bolt"]]
    line = ProductLineFactory(code="more")
    many = few + [signal_on(ProductFactory(product_line=line), "10.00") for _ in range(12)]
    for product in {signal.product for signal in many}:
        agreement(CustomerFactory(account_manager=manager_a), products=[product], entries=[("accrual", "1.00")])

    pricing_manager.has_perm("customers.view_all_customers")  # permissions are read once per request
    with CaptureQueriesContext(connection) as one:
        signals_exposure_totals(user=pricing_manager, signals=few)
    with CaptureQueriesContext(connection) as thirteen:
        totals = signals_exposure_totals(user=pricing_manager, signals=many)
    assert len(one) == len(thirteen) and len(reads(one)) == 1  # made with their product: the totals only
    assert totals == slow_path(pricing_manager, many, None)


def test_no_signals_no_queries(pricing_manager):
    with CaptureQueriesContext(connection) as queries:
        assert signals_exposure_totals(user=pricing_manager, signals=[]) == {}
    assert len(queries) == 0


def test_signals_read_with_their_product_need_no_product_query(small_scenario, pricing_manager):
    plain = list(MarketSignal.objects.order_by("pk"))
    with_product = list(MarketSignal.objects.select_related("product").order_by("pk"))

    pricing_manager.has_perm("customers.view_all_customers")
    with CaptureQueriesContext(connection) as read_plain:
        expected = signals_exposure_totals(user=pricing_manager, signals=plain, as_of=SEPTEMBER_END)
    with CaptureQueriesContext(connection) as read_with_product:
        found = signals_exposure_totals(user=pricing_manager, signals=with_product, as_of=SEPTEMBER_END)
    assert found == expected == slow_path(pricing_manager, plain, SEPTEMBER_END)
    assert len(reads(read_with_product)) == len(reads(read_plain)) - 1 == 1


def test_a_signal_exposing_nothing_counts_zero(small_scenario, pricing_manager, manager_b):
    signals = small_scenario["signals"]
    before_any_price = date(2025, 12, 31)

    totals = signals_exposure_totals(user=pricing_manager, signals=signals.values(), as_of=before_any_price)
    assert totals == {signal.pk: {"agreements": 0, "customers": 0, "unpaid_rebate": Decimal("0.00")}
                      for signal in signals.values()}
    # Manager B's only customers on the anchor line: none.
    assert signals_exposure_totals(user=manager_b, signals=[signals["anchor"]], as_of=SEPTEMBER_END) == {
        signals["anchor"].pk: {"agreements": 0, "customers": 0, "unpaid_rebate": Decimal("0.00")}}
    assert totals == slow_path(pricing_manager, signals.values(), before_any_price)


@pytest.mark.parametrize("who", ["pricing_manager", "manager_a", "manager_b"])
def test_the_page_reads_the_same_exposure_rows_as_plain_values(small_scenario, request, who):
    user = request.getfixturevalue(who)
    for signal in small_scenario["signals"].values():
        expected = [ExposureRow(row.number, row.customer_id, row.customer.name, row.customer.code,
                                row.customer.account_manager.get_full_name()
                                or row.customer.account_manager.username,
                                row.net_price, row.monthly_volume, row.unpaid_rebate)
                    for row in signal_exposure(user=user, signal=signal, as_of=TODAY)]

        rows = signal_exposure_rows(user=user, signal=signal, as_of=TODAY)

        assert rows == expected
        assert exposure_total(rows) == exposure_total(signal_exposure(user=user, signal=signal, as_of=TODAY))


@pytest.mark.parametrize("who", ["pricing_manager", "manager_a", "manager_b"])
def test_the_pages_exposure_query_is_the_one_django_compiles_for_the_same_inputs(small_scenario, request, who):
    user = request.getfixturevalue(who)
    for as_of in (SEPTEMBER_END, TODAY, date(2027, 1, 1), date(2026, 3, 31)):
        for signal in small_scenario["signals"].values():
            compiled = (signal_exposure(user=user, signal=signal, as_of=as_of)
                        .values_list(*EXPOSURE_ROW_COLUMNS).query.sql_with_params())

            statement, params = exposure_statement(user=user, signal_id=signal.pk, product_id=signal.product_id,
                                                   median_price=signal.median_price, as_of=as_of)

            assert (statement, params) == (compiled[0], list(compiled[1]))


def test_each_managers_exposure_query_keeps_their_own_filter(small_scenario, manager_a, manager_b):
    signal = small_scenario["signals"]["bolt"]
    exposure_statement(user=manager_a, signal_id=signal.pk, product_id=signal.product_id,
                       median_price=signal.median_price, as_of=TODAY)  # compiled for manager A first

    rows = signal_exposure_rows(user=manager_b, signal=signal, as_of=TODAY)

    assert {row.customer_code for row in rows} == {"C2"}
    assert {row.customer_code for row in signal_exposure_rows(user=manager_a, signal=signal, as_of=TODAY)} == {"C1"}


def test_a_user_who_may_see_no_customer_reads_no_exposure(small_scenario, manager_a):
    manager_a.is_active = False

    assert signal_exposure_rows(user=manager_a, signal=small_scenario["signals"]["bolt"], as_of=TODAY) == []


@pytest.mark.parametrize("by_currency", [False, True])
@pytest.mark.parametrize("who", ["pricing_manager", "manager_a", "manager_b"])
def test_the_dashboards_totals_query_is_the_one_django_compiles_for_the_same_inputs(small_scenario, request, who,
                                                                                      by_currency):
    user = request.getfixturevalue(who)
    signals = [(signal.pk, signal.product_id, signal.product.product_line_id, signal.median_price)
               for signal in small_scenario["signals"].values()]
    signals.append((signals[0][0], signals[0][1], None, signals[0][3]))  # a product read without its line
    for as_of in (SEPTEMBER_END, TODAY, date(2027, 1, 1)):
        for asked in (signals[:1], signals):
            parts = [exposure_totals_part(user=user, signal_id=signal_id, product_id=product_id,
                                           product_line_id=line_id, median_price=median, as_of=as_of,
                                           by_currency=by_currency)
                     for signal_id, product_id, line_id, median in asked]
            union = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
            compiled = union.query.sql_with_params()

            statement, params, columns = exposure_totals_statement(user=user, signals=asked, as_of=as_of,
                                                                   by_currency=by_currency)

            assert (statement, params) == (compiled[0], list(compiled[1]))
            assert columns == ["signal_id", *(["currency"] if by_currency else []), "agreements", "customers",
                               "unpaid_rebate"]
