"""The nightly outlook in chunks: the fan-out queues one task per range of agreements, each chunk stores all
its rows or none, a second delivery stores nothing twice, and a lost or failed chunk is done again by the
next delivery or the sweeper."""

import datetime
from decimal import Decimal

import pytest

from rebates import tasks
from rebates.models import AgreementForecast
from rebates.services import outlook
from rebates.services.outlook import (
    agreement_forecast_chunks,
    agreement_forecasts_chunk_record,
    agreement_forecasts_record,
)
from tests.factories import AgreementFactory, PerUnitRuleFactory, ProductFactory, PurchaseLineFactory
from tests.rebates.test_outlook_forecasts import accrue, tiered_agreement

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = datetime.date(2026, 2, 28)


@pytest.fixture
def one_agreement_a_chunk(monkeypatch):
    monkeypatch.setattr(outlook, "OUTLOOK_CHUNK_IDS", 1)


@pytest.fixture
def queued_chunks(monkeypatch):
    queued = []
    monkeypatch.setattr(tasks.agreement_forecasts_chunk, "delay", lambda *args: queued.append(args))
    return queued


def stored(run):
    return sorted(AgreementForecast.objects.filter(run=run).values_list("agreement_id", "rebate", "next_extra"))


def test_the_fan_out_queues_a_task_for_each_chunk_and_the_chunks_store_every_agreement(
        one_agreement_a_chunk, queued_chunks):
    agreements = [tiered_agreement()[0] for _ in range(3)]
    run = accrue(AS_OF, outlook=False)

    assert tasks.agreement_forecasts_record(run.pk) == 3
    assert sorted(queued_chunks) == [(run.pk, a.pk, a.pk) for a in sorted(agreements, key=lambda a: a.pk)]
    assert [tasks.agreement_forecasts_chunk(*args) for args in queued_chunks] == [1, 1, 1]
    # Each is the worked example: 200 units from the 2 % tier, worth $120.00; $960.00 forecast for the year.
    assert stored(run) == sorted((a.pk, D("960.00"), D("120.00")) for a in agreements)


def test_a_chunk_delivered_twice_stores_its_rows_once(one_agreement_a_chunk, queued_chunks):
    tiered_agreement()
    tiered_agreement()
    run = accrue(AS_OF, outlook=False)
    tasks.agreement_forecasts_record(run.pk)
    first = queued_chunks[0]

    assert tasks.agreement_forecasts_chunk(*first) == 1
    assert tasks.agreement_forecasts_chunk(*first) == 0
    assert AgreementForecast.objects.filter(run=run).count() == 1
    # The fan-out delivered again queues only the chunk still missing.
    queued_chunks.clear()
    assert tasks.agreement_forecasts_record(run.pk) == 1
    assert queued_chunks != [first]
    tasks.agreement_forecasts_chunk(*queued_chunks[0])
    assert AgreementForecast.objects.filter(run=run).count() == 2
    assert agreement_forecast_chunks(run_id=run.pk) == []
    assert tasks.agreement_forecasts_record(run.pk) == 0


def test_a_delivery_that_meets_the_other_deliverys_rows_on_writing_stores_nothing(monkeypatch):
    agreement, _ = tiered_agreement()
    run = accrue(AS_OF, outlook=False)
    [(first, last)] = agreement_forecast_chunks(run_id=run.pk)
    worked_out = outlook.outlooks_of

    def other_delivery_commits_first(read, *, as_of):
        result = worked_out(read, as_of=as_of)
        AgreementForecast.objects.create(run=run, agreement=agreement, as_of=as_of, period_start=as_of,
                                         period_end=as_of, payout_month=as_of, method="run-rate")
        return result

    monkeypatch.setattr(outlook, "outlooks_of", other_delivery_commits_first)

    # The unique (run, agreement) constraint stops the second writer: no error, its whole chunk rolled back
    # (here with the stand-in for the other delivery's row, written inside the same transaction).
    assert agreement_forecasts_chunk_record(run_id=run.pk, first=first, last=last) == 0
    assert not AgreementForecast.objects.filter(run=run).exists()
    monkeypatch.setattr(outlook, "outlooks_of", worked_out)
    assert agreement_forecasts_chunk_record(run_id=run.pk, first=first, last=last) == 1


def test_a_chunk_failing_midway_stores_nothing_and_the_next_delivery_stores_it_all(monkeypatch):
    a, _ = tiered_agreement()
    b, _ = tiered_agreement()
    run = accrue(AS_OF, outlook=False)
    real_row = outlook._row

    def dies_on_the_second(run_, agreement, result):
        if agreement.pk == max(a.pk, b.pk):
            raise RuntimeError("worker lost")
        return real_row(run_, agreement, result)

    monkeypatch.setattr(outlook, "_row", dies_on_the_second)
    with pytest.raises(RuntimeError):
        agreement_forecasts_record(run_id=run.pk)
    assert not AgreementForecast.objects.filter(run=run).exists()
    assert agreement_forecast_chunks(run_id=run.pk) != []

    monkeypatch.setattr(outlook, "_row", real_row)
    assert agreement_forecasts_record(run_id=run.pk) == 2
    assert agreement_forecasts_record(run_id=run.pk) == 0


def test_the_sweeper_queues_the_outlook_again_while_a_chunk_of_it_is_missing(
        one_agreement_a_chunk, queued_chunks, monkeypatch, settings, pinned_clock):
    from rebates.services import recovery

    tiered_agreement()
    tiered_agreement()
    run = accrue(AS_OF, outlook=False)
    tasks.agreement_forecasts_record(run.pk)
    tasks.agreement_forecasts_chunk(*queued_chunks[0])  # the other chunk's worker was killed
    queued = []
    monkeypatch.setattr(recovery, "queue_on_commit", lambda task, *args: queued.append((task.name, args)))
    settings.QUEUED_WORK_REQUEUE_SECONDS = 0
    pinned_clock.shift(datetime.timedelta(seconds=5))

    assert recovery.rebate_work_requeue(queue_empty=True)["outlooks"] == 1
    # (Its customers' value and risk, never refreshed here, are queued beside it.)
    assert [entry for entry in queued if entry[0].startswith("rebates.")] == [
        ("rebates.tasks.agreement_forecasts_record", (run.pk,))]
    queued_chunks.clear()
    assert tasks.agreement_forecasts_record(run.pk) == 1
    tasks.agreement_forecasts_chunk(*queued_chunks[0])
    assert AgreementForecast.objects.filter(run=run).count() == 2
    assert recovery.rebate_work_requeue(queue_empty=True)["outlooks"] == 0


def test_a_run_that_did_not_succeed_has_no_chunks_to_store():
    tiered_agreement()
    from rebates.services import accrual_run_start

    run = accrual_run_start(as_of=AS_OF, trigger="command", queue=False)

    assert agreement_forecast_chunks(run_id=run.pk) == []
    assert agreement_forecasts_chunk_record(run_id=run.pk, first=0, last=10**9) == 0


def test_an_agreements_next_tier_is_the_same_whichever_agreements_share_its_chunk(monkeypatch):
    # Its quarter bought nothing: the minimum is priced over its own window, July 2025 to September 2026
    # (100 units at $8.00 and 50 at $14.00), never March 2025's $20.00, which a chunk mate whose year
    # began in January makes the chunk read.
    product = ProductFactory()
    quarterly = AgreementFactory(products=[product], settlement_frequency="quarterly", committed_monthly_quantity=None,
                                 start_month=datetime.date(2025, 1, 1), end_month=datetime.date(2026, 12, 1))
    PerUnitRuleFactory(agreement=quarterly, minimum=D("100"))
    for month, price in (((2025, 3), "20.00"), ((2025, 7), "8.00"), ((2025, 8), "8.00"), ((2026, 4), "14.00")):
        PurchaseLineFactory(customer=quarterly.customer, product=product, month=datetime.date(*month, 1),
                            quantity=D("50"), unit_price=D(price))
    tiered_agreement()
    run = accrue(datetime.date(2026, 9, 30), outlook=False)

    def to_go():
        return AgreementForecast.objects.filter(run=run, agreement=quarterly).values_list(
            "next_kind", "to_go_units", "to_go_amount").get()

    assert agreement_forecasts_record(run_id=run.pk) == 2  # one chunk for both
    together = to_go()
    AgreementForecast.objects.filter(run=run).delete()
    monkeypatch.setattr(outlook, "OUTLOOK_CHUNK_IDS", 1)
    assert len(agreement_forecast_chunks(run_id=run.pk)) == 2
    assert agreement_forecasts_record(run_id=run.pk) == 2
    alone = to_go()

    assert together == alone == ("minimum", D("100.000"), D("1000.00"))


@pytest.mark.django_db(transaction=True)
def test_chunks_read_ahead_on_a_connection_of_their_own_store_what_chunk_after_chunk_stores(
        one_agreement_a_chunk):
    agreements = [tiered_agreement()[0] for _ in range(3)]
    run = accrue(AS_OF, outlook=False)

    # Outside a transaction, each chunk's purchases are read while the one before is worked out.
    assert agreement_forecasts_record(run_id=run.pk) == 3
    assert stored(run) == sorted((a.pk, D("960.00"), D("120.00")) for a in agreements)
    assert agreement_forecasts_record(run_id=run.pk) == 0
