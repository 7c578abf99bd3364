"""What the accrual run survives, on PostgreSQL (docs/reliability.md, R4-R7): concurrent runs, a message delivered
twice, a worker killed midway, and tasks queued only after commit."""

import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from functools import partial
from pathlib import Path

import psycopg2
import pytest
import redis
from django.conf import settings
from django.db import connection, connections, transaction
from kombu.exceptions import OperationalError

from config import clock
from pricing_signals.services import waiting_work_requeue
from rebates import tasks
from rebates.models import AccrualChunk, AccrualRun, LedgerEntry, RebateAgreement
from rebates.services import accrual_chunk_book, accrual_run_perform, accrual_run_prepare, accrual_run_start
from tests.rebates.many_agreements import (
    AS_OF,
    booked_by_month,
    build_agreements,
    duplicate_bookings,
    expected_by_month,
)
from tests.services import CeleryWorker, wait_for

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True)


def start_and_perform(as_of=AS_OF, full=False):
    run = accrual_run_start(as_of=as_of, full=full, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk)


@pytest.mark.parametrize("runs", [2, 5, 8])
def test_runs_started_at_once_book_the_totals_of_one_run(runs, settings):
    settings.ACCRUAL_CHUNK_SIZE = 4
    build_agreements(agreements=24)
    barrier = threading.Barrier(runs)
    results, errors = [], []

    def one_run():
        try:
            barrier.wait()
            results.append(start_and_perform())
        except Exception as error:  # reported below with the test's failure
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=one_run) for _ in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert {run.status for run in results} <= {"skipped", "succeeded"}
    assert sum(run.status == "succeeded" for run in results) >= 1
    assert duplicate_bookings() == []
    assert booked_by_month() == expected_by_month()
    # Runs that waited their turn found the ledger already right.
    assert sum(1 for run in results if run.entries_count > 0) == 1
    assert AccrualRun.objects.filter(status="running").count() == 0


def test_the_same_chunk_message_twice_books_nothing_the_second_time(settings):
    settings.ACCRUAL_CHUNK_SIZE = 5
    build_agreements(agreements=10)
    run = accrual_run_start(as_of=AS_OF, trigger="command", queue=False)
    chunk_ids = accrual_run_prepare(run_id=run.pk)
    assert accrual_run_prepare(run_id=run.pk) == chunk_ids  # the run's own message again: same chunks
    first = tasks.accrual_chunk_book.apply(args=[chunk_ids[0], run.pk]).get()
    again = tasks.accrual_chunk_book.apply(args=[chunk_ids[0], run.pk]).get()
    assert first > 0 and again == 0
    for chunk_id in chunk_ids[1:]:
        tasks.accrual_chunk_book.apply(args=[chunk_id, run.pk]).get()
    tasks.accrual_chunk_book.apply(args=[chunk_ids[-1], run.pk]).get()
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert run.entries_count == LedgerEntry.objects.count()
    assert duplicate_bookings() == []
    assert booked_by_month() == expected_by_month()


def test_a_chunk_message_after_its_run_was_failed_books_nothing(settings):
    settings.ACCRUAL_CHUNK_SIZE = 5
    build_agreements(agreements=10)
    run = accrual_run_start(as_of=AS_OF, trigger="command", queue=False)
    chunk_ids = accrual_run_prepare(run_id=run.pk)
    AccrualRun.objects.filter(pk=run.pk).update(status="failed")
    assert accrual_chunk_book(chunk_id=chunk_ids[0]).booked is False
    assert LedgerEntry.objects.count() == 0


def test_the_nightly_entry_fired_twice_books_once(settings):
    settings.ACCRUAL_CHUNK_SIZE = 5
    build_agreements(agreements=10)
    for _ in range(2):
        run = start_and_perform(as_of=AS_OF)
    assert run.entries_count == 0
    assert duplicate_bookings() == []
    assert booked_by_month() == expected_by_month()


def _database_url():
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def accrue_in_subprocess(**env):
    environment = {**os.environ, "DATABASE_URL": _database_url(), "DJANGO_SETTINGS_MODULE": "config.settings.test",
                   **env}
    return subprocess.Popen(
        [sys.executable, "manage.py", "accrue", "--as-of", AS_OF.isoformat()], cwd=ROOT, env=environment,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )


def _wait_for(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.005)
    return False


def _chunks_are_whole(run):
    """Each chunk of the run has either booked all its entries (done) or none (pending)."""
    for chunk in AccrualChunk.objects.filter(run=run):
        booked = LedgerEntry.objects.filter(accrual_run=run, agreement_id__in=chunk.agreement_ids).count()
        if chunk.status == "done" and booked != chunk.entries_count:
            return False
        if chunk.status == "pending" and booked != 0:
            return False
    return True


def hold_agreement_lock(agreement_id):
    """Lock one agreement's row from a connection of its own, as a slow writer would: a chunk that
    reaches it waits there. Returns the connection; closing it releases the lock."""
    holder = psycopg2.connect(_database_url())
    holder.cursor().execute("SELECT id FROM rebates_rebateagreement WHERE id = %s FOR UPDATE", [agreement_id])
    return holder


@pytest.mark.real_clock
@pytest.mark.parametrize("kill_after_chunks", [0, 3, 11])
def test_a_worker_killed_midway_leaves_whole_chunks_and_the_next_run_gives_exact_totals(kill_after_chunks, settings):
    build_agreements(agreements=60, lines_per_month=4)
    # Chunks of two agreements in id order: the chunk after `kill_after_chunks` waits on this lock, so the
    # worker is killed exactly there, however fast or slow this machine is.
    ids = sorted(RebateAgreement.objects.values_list("pk", flat=True))
    holder = hold_agreement_lock(ids[2 * kill_after_chunks])
    process = accrue_in_subprocess(ACCRUAL_CHUNK_SIZE="2")

    def reached():
        run = AccrualRun.objects.filter(status="running").first()
        return run is not None and run.chunks_done >= kill_after_chunks

    try:
        assert _wait_for(reached), process.communicate(timeout=30)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    finally:
        holder.close()
    killed = AccrualRun.objects.get()
    assert killed.status == "running" and killed.chunks_done < killed.chunks_total
    assert _chunks_are_whole(killed)

    # The next run finds the dead one (no chunk being booked, no progress for longer than the stale limit)
    # and marks it failed. The killed process's connection goes once the lock it waited for is free.
    settings.ACCRUAL_RUN_STALE_SECONDS = 0
    assert _wait_for(lambda: no_chunk_being_booked(killed))
    next_run = start_and_perform()
    killed.refresh_from_db()
    assert killed.status == "failed" and "stopped midway" in killed.error
    assert next_run.status == "succeeded"
    assert duplicate_bookings() == []
    assert booked_by_month() == expected_by_month()
    assert start_and_perform(full=True).entries_count == 0


def no_chunk_being_booked(run):
    """No pending chunk of the run is locked, i.e. being booked by a live connection."""
    with transaction.atomic():
        pending = AccrualChunk.objects.filter(run=run, status="pending")
        return pending.count() == len(pending.select_for_update(skip_locked=True))


def _lock_waits(connection_):
    """Backends of the test database waiting for a lock (seen from another psycopg2 connection)."""
    with connection_.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                       "WHERE NOT l.granted AND a.datname = current_database()")
        return cursor.fetchone()[0]


def _finished(run_id):
    return AccrualRun.objects.filter(pk=run_id).exclude(status__in=["queued", "running"]).exists()


@pytest.mark.real_clock
@pytest.mark.parametrize(("kill_after_chunks", "recovery"), [(0, "sweeper"), (4, "sweeper"), (2, "next run")])
def test_a_celery_worker_killed_midway_is_recovered_at_once_and_the_next_run_gives_exact_totals(
        kill_after_chunks, recovery, own_redis, settings, tmp_path):
    # In the test's terms a run with no live worker is stale after 2 s (30 s in production), so recovery
    # takes seconds, not the old 15 minutes; the sweeper runs every half second here (every 30 s in beat).
    settings.ACCRUAL_RUN_STALE_SECONDS = 2
    env = {"ACCRUAL_CHUNK_SIZE": "2", "ACCRUAL_RUN_STALE_SECONDS": "2"}
    build_agreements(agreements=30, lines_per_month=4)
    # The chunk after `kill_after_chunks` waits on this lock, so the worker dies there, mid-run.
    ids = sorted(RebateAgreement.objects.values_list("pk", flat=True))
    holder = hold_agreement_lock(ids[2 * kill_after_chunks])
    first = CeleryWorker(own_redis, tmp_path / "first-worker.log", **env).start()
    killed = accrual_run_start(as_of=AS_OF, trigger="finance")  # queued on commit through the real broker
    try:
        assert _wait_for(lambda: AccrualRun.objects.filter(
            pk=killed.pk, status="running", chunks_done__gte=kill_after_chunks).exists()), first.log.read_text()
        assert _wait_for(lambda: _lock_waits(holder) > 0), first.log.read_text()  # the worker is stuck there
        first.kill()
    finally:
        holder.close()
    killed_at = time.monotonic()
    killed.refresh_from_db()
    assert killed.status == "running" and killed.chunks_done < killed.chunks_total
    assert _chunks_are_whole(killed)

    second = CeleryWorker(own_redis, tmp_path / "second-worker.log", **env).start()
    try:
        if recovery == "sweeper":
            # The sweeper finds the run with no live worker and queues its pending chunks again: resumed.
            requeued = []
            assert wait_for(lambda: requeued.append(waiting_work_requeue()["accrual_chunks"]) or _finished(killed.pk),
                             timeout=60, every=0.5), second.log.read_text()[-3000:]
            assert sum(requeued) >= 1  # the chunk the killed worker held came back through the sweeper
        skipped = 0
        while True:  # the next run, started as finance would: skipped only while the dead run looks alive
            next_run = accrual_run_start(as_of=AS_OF, trigger="finance")
            assert _wait_for(partial(_finished, next_run.pk)), second.log.read_text()[-3000:]
            next_run.refresh_from_db()
            if next_run.status != "skipped":
                break
            skipped += 1
            time.sleep(0.5)
        started_after = time.monotonic() - killed_at
    finally:
        second.stop()
    killed.refresh_from_db()
    assert next_run.status == "succeeded"
    assert started_after < 120
    if recovery == "sweeper":
        assert killed.status == "succeeded" and skipped == 0
    else:
        assert killed.status == "failed" and "stopped midway" in killed.error
    assert AccrualRun.objects.filter(status__in=["running", "queued"]).count() == 0
    assert all(_chunks_are_whole(run) for run in AccrualRun.objects.all())
    assert duplicate_bookings() == []
    assert booked_by_month() == expected_by_month()
    assert start_and_perform(full=True).entries_count == 0


def _queued_messages():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return client.llen("celery")


def test_a_run_is_queued_only_when_its_transaction_commits():
    before = _queued_messages()
    with pytest.raises(RuntimeError), transaction.atomic():
        accrual_run_start(as_of=AS_OF, trigger="finance")
        raise RuntimeError("the request failed after starting the run")
    assert AccrualRun.objects.count() == 0
    assert _queued_messages() == before

    with transaction.atomic():
        run = accrual_run_start(as_of=AS_OF, trigger="finance")
        assert _queued_messages() == before  # not before the commit
    assert _queued_messages() == before + 1
    message = redis.Redis.from_url(settings.CELERY_BROKER_URL).lpop("celery")
    assert b"rebates.tasks.accrual_run_execute" in message and str(run.pk).encode() in message


def test_a_run_started_while_the_broker_is_down_is_kept(monkeypatch):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to the broker. Connection refused.")

    monkeypatch.setattr(tasks.accrual_run_execute, "apply_async", broker_down)
    run = accrual_run_start(as_of=AS_OF, trigger="finance")
    assert AccrualRun.objects.filter(pk=run.pk, status="queued").exists()
    # The next run started by hand (or the nightly entry) does the work.
    assert start_and_perform().status == "succeeded"


def teardown_module():
    for alias in connections:
        connections[alias].close()


def test_full_run_on_many_agreements_matches_the_engine():
    build_agreements(agreements=12)
    run = start_and_perform(as_of=datetime.date(2026, 6, 30))
    assert run.status == "succeeded"
    assert booked_by_month() == expected_by_month(as_of=datetime.date(2026, 6, 30))


def test_a_line_stamped_before_a_run_but_committed_after_it_is_booked_by_the_next_run():
    agreement = build_agreements(agreements=4)[0]
    customer, product = agreement.customer, agreement.products.get()
    start_and_perform()
    # An ingest batch stamps its line on the app's clock, as the services do, then is still open while a run
    # starts and finishes.
    writer = psycopg2.connect(_database_url())
    stamped = clock.now()
    with writer.cursor() as cursor:
        cursor.execute(
            "INSERT INTO rebates_purchaseline (erp_line_id, customer_id, product_id, month, quantity, unit_price, "
            "amount, source, created_at, updated_at) VALUES ('LATE-1', %s, %s, %s, 40, 10, 400, 'api', %s, %s)",
            [customer.pk, product.pk, AS_OF.replace(day=1), stamped, stamped])
    during = start_and_perform()
    assert during.entries_count == 0  # the open batch is not visible yet
    writer.commit()
    writer.close()
    after = start_and_perform()
    assert after.entries_count >= 1
    assert booked_by_month() == expected_by_month()
