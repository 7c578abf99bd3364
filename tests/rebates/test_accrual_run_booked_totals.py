"""A run keeps what it booked per currency once it succeeds (its entries never change after that), so the
finance dashboard and the runs' pages read no entry of it. The stored totals always equal the sum of the run's
entries per currency: for a run booked in one go, a run stopped midway whose chunks are booked again, and a
rerun that books nothing. Customers in euros and in dollars, each on docs/product.md's retroactive tiers (1 % to
1,000 units), buying 450 units at 10.00 in January and February 2026: each accrues 90.00."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from rebates import selectors
from rebates.models import AccrualRun, LedgerEntry, RebateRule, TierBand
from rebates.services import accrual, accrual_chunk_book, accrual_run_perform, accrual_run_prepare, accrual_run_start
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory, PurchaseLineFactory

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-03-05")]

D = Decimal
AS_OF = datetime.date(2026, 2, 28)


def tiered(customer):
    product = ProductFactory()
    agreement = AgreementFactory(customer=customer, products=[product])
    rule = RebateRule.objects.create(agreement=agreement, kind="tiered", rate_type="percent",
                                     tier_basis="quantity", tier_method="retroactive")
    for threshold, rate in ((0, 1), (1000, 2), (5000, 3)):
        TierBand.objects.create(rule=rule, threshold=D(threshold), rate=D(rate))
    for month in (1, 2):
        PurchaseLineFactory(customer=customer, product=product, month=datetime.date(2026, month, 1),
                            quantity=D("450"), unit_price=D("10.00"))
    return agreement


@pytest.fixture
def book():
    """Three customers in euros and two in dollars, one agreement each (in that order of ids)."""
    return [tiered(CustomerFactory(currency=currency)) for currency in ("EUR", "USD", "EUR", "USD", "EUR")]


def entries_per_currency(run) -> dict[str, Decimal]:
    """The sum of the run's entries per currency of their agreements' customers, read entry by entry."""
    found: dict[str, Decimal] = {}
    for entry in LedgerEntry.objects.filter(accrual_run=run).select_related("agreement__customer"):
        code = entry.agreement.customer.currency
        found[code] = found.get(code, D("0.00")) + entry.amount
    return found


def start():
    return accrual_run_start(as_of=AS_OF, trigger="command", queue=False)


def test_a_run_stores_what_it_booked_per_currency_when_it_succeeds(book):
    run = accrual_run_perform(run_id=start().pk, outlook=False)
    assert run.status == "succeeded"
    assert run.booked_by_currency == {"EUR": D("270.00"), "USD": D("180.00")} == entries_per_currency(run)
    assert run.booked_totals == {"EUR": "270.00", "USD": "180.00"}
    assert sum(run.booked_by_currency.values()) == run.total_amount


def test_a_rerun_that_books_nothing_stores_that_it_booked_nothing(book):
    accrual_run_perform(run_id=start().pk, outlook=False)
    again = accrual_run_perform(run_id=start().pk, outlook=False)
    assert again.status == "succeeded" and again.entries_count == 0
    assert again.booked_by_currency == {} == entries_per_currency(again)
    full = accrual_run_perform(run_id=accrual_run_start(as_of=AS_OF, full=True, trigger="command",
                                                        queue=False).pk, outlook=False)
    assert full.status == "succeeded" and full.chunks_total > 0 and full.entries_count == 0
    assert full.booked_by_currency == {}


def test_a_run_stopped_midway_and_booked_again_stores_the_sum_of_its_entries(book, settings, monkeypatch):
    settings.ACCRUAL_CHUNK_SIZE = 2
    run = start()
    chunk_ids = accrual_run_prepare(run_id=run.pk)
    assert len(chunk_ids) == 3
    accrual_chunk_book(chunk_id=chunk_ids[0])
    # The second chunk stops after writing its entries, before it commits: none of them stays.
    written = accrual.book

    def book_then_stop(bookings):
        written(bookings)
        raise RuntimeError("worker lost")

    monkeypatch.setattr(accrual, "book", book_then_stop)
    with pytest.raises(RuntimeError):
        accrual_chunk_book(chunk_id=chunk_ids[1])
    monkeypatch.setattr(accrual, "book", written)
    run.refresh_from_db()
    # Still running: nothing stored yet, so what it booked so far is read from its entries.
    assert run.status == "running" and run.booked_totals is None
    assert selectors.runs_booked([run]) == {run.pk: {"EUR": D("90.00"), "USD": D("90.00")}}

    # The run's message delivered again gives its pending chunks; the first one again books nothing.
    assert accrual_run_prepare(run_id=run.pk) == chunk_ids[1:]
    for chunk_id in [chunk_ids[0], *chunk_ids[1:], chunk_ids[-1]]:
        accrual_chunk_book(chunk_id=chunk_id)
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert run.booked_by_currency == {"EUR": D("270.00"), "USD": D("180.00")} == entries_per_currency(run)
    assert sum(run.booked_by_currency.values()) == run.total_amount


def test_the_runs_bookings_of_a_book_in_several_currencies_read_no_entry_of_a_succeeded_run(
        book, django_assert_num_queries):
    first = accrual_run_perform(run_id=start().pk, outlook=False)
    failed = start()
    AccrualRun.objects.filter(pk=failed.pk).update(status="failed", entries_count=1, total_amount=D("1.00"))
    failed.refresh_from_db()
    # The book's currencies, then the failed run's entries (it stored nothing): the succeeded run's are not read.
    with django_assert_num_queries(3):
        booked = selectors.runs_booked([failed, first])
    assert booked == {first.pk: {"EUR": D("270.00"), "USD": D("180.00")}, failed.pk: {}}
    with django_assert_num_queries(1):
        assert selectors.runs_booked([first]) == {first.pk: {"EUR": D("270.00"), "USD": D("180.00")}}


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_the_runs_that_succeeded_before_it_their_totals(book):
    run = accrual_run_perform(run_id=start().pk, outlook=False)
    nothing = accrual_run_perform(run_id=start().pk, outlook=False)
    failed = start()
    AccrualRun.objects.filter(pk=failed.pk).update(status="failed")
    executor = MigrationExecutor(connection)
    executor.migrate([("rebates", "0042_purchase_index_carries_quantity")])
    try:
        with connection.cursor() as cursor:
            # An entry booked before entries carried their currency counts in its customer's.
            cursor.execute("INSERT INTO rebates_ledgerentry (agreement_id, period, concerns, kind, quantity, "
                           "eligible_amount, amount, booking_key, booked_at, accrual_run_id) VALUES (%s, "
                           "'2026-02-01', '2026-02-01', 'adjustment', 0, 0, 1.25, 'old:1', "
                           "'2026-03-01T06:00:00Z', %s)", [book[0].pk, run.pk])
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    run.refresh_from_db()
    assert run.booked_by_currency == {"EUR": D("271.25"), "USD": D("180.00")} == entries_per_currency(run)
    nothing.refresh_from_db()
    assert nothing.booked_by_currency == {}
    failed.refresh_from_db()
    assert failed.booked_totals is None
