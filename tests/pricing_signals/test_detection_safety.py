"""Detection run twice and at once, from separate connections on PostgreSQL: the result of one run."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction

from pricing_signals import tasks
from pricing_signals.models import MarketSignal, PriceClaim
from pricing_signals.services import price_claim_check, signals_detect, sweep
from pricing_signals.services.sweep import signals_detect_rebuilding_indexes
from tests.factories import CompetitorFactory, CustomerFactory, ProductFactory
from tests.pricing_signals.conftest import YEAR_END, agreement_for, claim_on
from tests.pricing_signals.test_sweep import claim_table_indexes

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(jobs):
    """Run each job in its own thread (its own database connection), all released together."""
    barrier = threading.Barrier(len(jobs))
    results, errors = [None] * len(jobs), []

    def run(index, job):
        try:
            barrier.wait()
            results[index] = job()
        except Exception as error:  # reported by the test's assertion
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return results


def stored():
    return (list(PriceClaim.objects.order_by("pk").values_list("pk", "status", "signal_id")),
            list(MarketSignal.objects.order_by("pk").values_list("pk", "window_start", "window_end", "claim_count",
                                                                 "customer_count", "median_price")))


def claims_on_products(products=2, per_product=12):
    """Claims in clusters that witness, and lone ones that do not, over a few products."""
    made = []
    for _ in range(products):
        product = ProductFactory()
        for i in range(per_product):
            day = date(2026, 3, 1) + timedelta(days=(i // 4) * 45 + i % 4 * 3)
            made.append(claim_on(product, CustomerFactory(), day, "10.00" if i % 4 != 3 else "12.00"))
    return made


@pytest.mark.parametrize("runs", [2, 4])
def test_sweeps_started_at_once_give_the_result_of_one(runs):
    claims_on_products()

    results = at_once([lambda: signals_detect(as_of=YEAR_END)] * runs)

    assert sum(result.signals_created for result in results) == 3 * 2
    assert sum(result.claims_changed for result in results) == 24  # one run wrote; the others found it done
    after = stored()
    assert signals_detect(as_of=YEAR_END).claims_changed == 0
    assert stored() == after


def test_checks_of_one_products_claims_at_once_make_one_signal_each_and_agree_with_the_sweep():
    claims = claims_on_products(products=1, per_product=12)

    at_once([lambda claim=claim: price_claim_check(claim_id=claim.pk, as_of=YEAR_END) for claim in claims])

    assert MarketSignal.objects.count() == 3
    after = stored()
    result = signals_detect(as_of=YEAR_END)
    assert (result.claims_changed, result.signals_created, result.signals_removed) == (0, 0, 0)
    assert stored() == after


def test_a_sweep_and_checks_at_once_leave_what_a_sweep_alone_leaves():
    claims = claims_on_products(products=2, per_product=8)
    jobs = [lambda claim=claim: price_claim_check(claim_id=claim.pk, as_of=YEAR_END) for claim in claims[::2]]
    jobs.append(lambda: signals_detect(as_of=YEAR_END))

    at_once(jobs)

    after = stored()
    assert signals_detect(as_of=YEAR_END).claims_changed == 0
    assert stored() == after
    assert MarketSignal.objects.count() == 4


def test_the_same_check_message_delivered_twice_changes_nothing_the_second_time():
    claims = claims_on_products(products=1, per_product=4)
    for claim in claims:
        tasks.price_claim_check.apply(args=[claim.pk]).get()
    first = stored()

    tasks.price_claim_check.apply(args=[claims[-1].pk]).get()
    tasks.nightly_signal_sweep.apply().get()
    tasks.nightly_signal_sweep.apply().get()

    assert stored() == first


def teardown_module():
    for alias in connections:
        connections[alias].close()


@pytest.mark.parametrize("detect", [signals_detect, signals_detect_rebuilding_indexes],
                         ids=["sweep", "operators-rebuild"])
def test_a_sweep_rewriting_most_claims_while_a_page_reads_them_keeps_the_indexes_and_finishes(detect):
    product, competitor = ProductFactory(), CompetitorFactory()
    customers = [CustomerFactory() for _ in range(3)]
    PriceClaim.objects.bulk_create([  # 400 clusters of three: every claim changes on the first sweep
        PriceClaim(customer=customers[i % 3], product=product, competitor=competitor, claimed_price="10.00",
                   reported_on=date(1990, 1, 1) + timedelta(days=40 * (i // 3) + i % 3), channel="call",
                   reported_by=customers[0].account_manager)
        for i in range(1200)
    ])
    indexes_before = claim_table_indexes()
    reading, done = threading.Event(), threading.Event()

    def page_reading_claims():  # a long page request holding the claims table open
        try:
            with transaction.atomic():
                list(PriceClaim.objects.order_by("pk")[:1])
                reading.set()
                done.wait(30)
        finally:
            connection.close()

    reader = threading.Thread(target=page_reading_claims)
    reader.start()
    try:
        assert reading.wait(10)
        result = detect(as_of=YEAR_END)
    finally:
        done.set()
        reader.join(30)

    assert (result.claims_changed, result.signals_created) == (1200, 400)
    # The sweep never rebuilds them; the operator's step did not get the table in time: written through them.
    assert claim_table_indexes() == indexes_before


@pytest.fixture
def averaging_threads(monkeypatch):
    """The threads that read our average prices on a connection of their own during a sweep."""
    threads, real = [], sweep._averages_on_own_connection

    def recorded(*args):
        threads.append(threading.get_ident())
        return real(*args)

    monkeypatch.setattr(sweep, "_averages_on_own_connection", recorded)
    return threads


def test_a_sweep_of_its_own_reads_our_average_prices_on_a_second_connection(seed, product, averaging_threads):
    agreement_for(CustomerFactory(), product, net_price="12.10")
    agreement_for(CustomerFactory(), product, net_price="12.50")

    signals_detect(as_of=YEAR_END, workers=2)

    assert len(averaging_threads) == 1 and averaging_threads[0] != threading.get_ident()
    signal = MarketSignal.objects.get()
    assert (signal.our_average_price, signal.drop_percent) == (Decimal("12.3000"), Decimal("7.32"))


def test_a_sweep_inside_a_transaction_reads_our_average_prices_there(seed, product, averaging_threads):
    with transaction.atomic():
        agreement_for(CustomerFactory(), product, net_price="12.10")  # not committed: seen by this connection only

        signals_detect(as_of=YEAR_END)

        assert MarketSignal.objects.get().our_average_price == Decimal("12.1000")
    assert averaging_threads == []
