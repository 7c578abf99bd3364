"""Each alert is raised once by a real cause, mailed once to the administrators, and cleared (with a second
mail) when the cause goes; checks that see the same problem again send nothing."""

import os
import signal
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail

from config import clock
from config.celery_app import app as celery_app
from operations import checks
from operations.models import Alert
from operations.services import alerts_mail_pending, alerts_sync, operations_check
from operations.tasks import operations_check as operations_check_task
from rebates.models import AccrualCheck, AccrualRun, AgreementBalance, ExportJob, ImportBatch, RebateAgreement
from rebates.services import accrual_check_sample, accrual_run_fail, accrual_run_perform, accrual_run_start
from rebates.services.accrual import accrual_run_prepare
from rebates.services.exports import export_job_run
from tests.pages.scenario import TODAY
from tests.pages.scenario import build as build_scenario
from tests.rebates.many_agreements import AS_OF, build_agreements
from tests.rebates.test_accrual_safety import accrue_in_subprocess, hold_agreement_lock, no_chunk_being_booked
from tests.services import wait_for

pytestmark = pytest.mark.django_db


def open_alerts(kind):
    return list(Alert.objects.filter(kind=kind, cleared_at__isnull=True))


def subjects():
    return [message.subject for message in mail.outbox]


def test_a_run_left_running_by_a_lost_worker_raises_one_alert_and_clears_when_a_new_run_succeeds(
        administrator, quiet_broker, pinned_clock):
    build_scenario()
    run = accrual_run_start(as_of=TODAY, full=True, trigger=AccrualRun.Trigger.COMMAND, queue=False)
    # Prepared, its chunks handed out, and then the worker died: nothing more happens to the run.
    assert accrual_run_prepare(run_id=run.pk)
    operations_check()
    assert open_alerts(Alert.Kind.RUN_STALE) == []

    pinned_clock.shift(timedelta(minutes=16))
    operations_check()
    [alert] = open_alerts(Alert.Kind.RUN_STALE)
    assert alert.key == f"run {run.pk}" and alert.details["status"] == "running"
    assert subjects() == [f"[Rebate desk] Raised: Accrual run stale (run {run.pk})"]
    assert mail.outbox[0].to == ["ops@example.com"]

    for _ in range(3):  # a check a minute while it lasts: no more mail
        pinned_clock.shift(timedelta(minutes=1))
        operations_check()
    assert len(mail.outbox) == 1
    alert.refresh_from_db()
    assert alert.last_seen > alert.started_at and alert.cleared_at is None

    # The next run marks the dead one failed and books everything itself.
    accrual_run_perform(run_id=accrual_run_start(as_of=TODAY, trigger=AccrualRun.Trigger.COMMAND, queue=False).pk)
    assert AccrualRun.objects.get(pk=run.pk).status == AccrualRun.Status.FAILED
    operations_check()
    alert.refresh_from_db()
    assert alert.cleared_at is not None
    # The failed run is older than the one that succeeded: nothing to say about it.
    assert open_alerts(Alert.Kind.RUN_FAILED) == []
    assert subjects()[1:] == [f"[Rebate desk] Cleared: Accrual run stale (run {run.pk})"]


def test_a_failed_run_raises_an_alert_until_a_later_run_succeeds(administrator, quiet_broker):
    build_scenario()
    run = accrual_run_start(as_of=TODAY, full=True, trigger=AccrualRun.Trigger.COMMAND, queue=False)
    accrual_run_prepare(run_id=run.pk)
    accrual_run_fail(run_id=run.pk, error="chunk 1: OperationalError: server closed the connection")
    operations_check()
    operations_check()
    [alert] = open_alerts(Alert.Kind.RUN_FAILED)
    assert alert.details["run"] == run.pk and "OperationalError" in alert.details["error"]
    assert subjects() == ["[Rebate desk] Raised: Accrual run failed (accrual)"]

    accrual_run_perform(run_id=accrual_run_start(as_of=TODAY, trigger=AccrualRun.Trigger.COMMAND, queue=False).pk)
    operations_check()
    assert open_alerts(Alert.Kind.RUN_FAILED) == []
    assert subjects()[1] == "[Rebate desk] Cleared: Accrual run failed (accrual)"
    assert "Started: 2026-11-23" in mail.outbox[1].body and "Cleared: 2026-11-23" in mail.outbox[1].body


def test_drift_found_by_the_nightly_check_raises_an_alert_cleared_by_a_clean_check(administrator, quiet_broker,
                                                                                   pinned_clock):
    scenario = build_scenario()
    balance = AgreementBalance.objects.get(agreement=scenario["agreements"]["seed"])
    kept = balance.unpaid
    # A kept balance out of step with its entries: the figures finance reads are wrong.
    AgreementBalance.objects.filter(pk=balance.pk).update(unpaid=kept + Decimal("5.00"))
    assert accrual_check_sample(seed=1).status == AccrualCheck.Status.DIFFERENCES
    operations_check()
    [alert] = open_alerts(Alert.Kind.LEDGER_DRIFT)
    assert alert.details["differences"] == 1
    assert subjects() == ["[Rebate desk] Raised: Ledger drift (ledger)"]

    AgreementBalance.objects.filter(pk=balance.pk).update(unpaid=kept)
    pinned_clock.shift(timedelta(days=1))
    assert accrual_check_sample(seed=1).status == AccrualCheck.Status.CLEAN
    operations_check()
    assert open_alerts(Alert.Kind.LEDGER_DRIFT) == []
    assert subjects()[1:] == ["[Rebate desk] Cleared: Ledger drift (ledger)"]


def test_redis_stopped_raises_a_broker_alert_once_and_its_return_clears_it(administrator, own_redis):
    operations_check()
    assert open_alerts(Alert.Kind.BROKER_DOWN) == []

    own_redis.stop()
    operations_check()
    operations_check()
    [alert] = open_alerts(Alert.Kind.BROKER_DOWN)
    assert subjects() == ["[Rebate desk] Raised: Broker down (broker)"]

    own_redis.start()
    operations_check()
    alert.refresh_from_db()
    assert alert.cleared_at is not None
    assert subjects()[1:] == ["[Rebate desk] Cleared: Broker down (broker)"]


def test_a_task_left_waiting_in_the_queue_raises_an_alert_cleared_once_it_is_taken(administrator, quiet_broker,
                                                                                    pinned_clock, settings):
    settings.OPERATIONS_QUEUE_WAIT_SECONDS = 300
    operations_check_task.apply_async()  # no worker is running: it waits
    pinned_clock.shift(timedelta(minutes=4))
    operations_check()
    assert open_alerts(Alert.Kind.QUEUE_WAITING) == []

    pinned_clock.shift(timedelta(minutes=2))
    operations_check()
    [alert] = open_alerts(Alert.Kind.QUEUE_WAITING)
    assert alert.details["depth"] == 1 and 355 <= alert.details["oldest_seconds"] <= 420
    assert subjects() == ["[Rebate desk] Raised: Queue backed up (celery)"]

    # A worker takes it (here: the message is fetched and acknowledged).
    with celery_app.connection_for_write() as connection:
        message = connection.SimpleQueue(celery_app.conf.task_default_queue).get(timeout=5)
        message.ack()
    operations_check()
    assert open_alerts(Alert.Kind.QUEUE_WAITING) == []
    assert subjects()[1:] == ["[Rebate desk] Cleared: Queue backed up (celery)"]


def test_an_export_stuck_in_the_queue_raises_an_alert_cleared_when_it_is_made(administrator, quiet_broker,
                                                                              pinned_clock):
    scenario = build_scenario()
    job = ExportJob.objects.create(kind=ExportJob.Kind.ACCRUAL_SHEET, format=ExportJob.Format.CSV,
                                   requested_by=scenario["finance"])
    pinned_clock.shift(timedelta(minutes=31))
    operations_check()
    [alert] = open_alerts(Alert.Kind.EXPORT_STUCK)
    assert alert.details == {"count": 1, "ids": [job.pk]}

    assert export_job_run(job_id=job.pk).status == ExportJob.Status.DONE
    operations_check()
    assert open_alerts(Alert.Kind.EXPORT_STUCK) == []
    assert subjects() == ["[Rebate desk] Raised: Export stuck (exports)",
                          "[Rebate desk] Cleared: Export stuck (exports)"]


def test_an_import_whose_preview_never_ends_raises_an_alert(administrator, quiet_broker, pinned_clock):
    batch = ImportBatch.objects.create(source=ImportBatch.Source.FILE, file_name="november.csv",
                                       created_by=administrator)
    pinned_clock.shift(timedelta(minutes=31))
    operations_check()
    assert open_alerts(Alert.Kind.IMPORT_STUCK)[0].details == {"count": 1, "ids": [batch.pk]}
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.REJECTED)
    operations_check()
    assert open_alerts(Alert.Kind.IMPORT_STUCK) == []
    assert len(mail.outbox) == 2


def test_a_mail_lost_with_a_killed_check_is_sent_by_the_next_one_and_only_once(administrator, own_redis):
    own_redis.stop()
    # Killed after the alert was stored, before its mail went.
    alerts_sync(kind=Alert.Kind.BROKER_DOWN, seen=checks.broker_down(clock.now()), now=clock.now())
    assert mail.outbox == []
    operations_check()
    operations_check()
    assert subjects() == ["[Rebate desk] Raised: Broker down (broker)"]
    assert alerts_mail_pending(now=clock.now()) == 0


def test_beat_runs_the_check_every_minute_and_it_notes_that_a_worker_is_alive(quiet_broker):
    from django_celery_beat.models import PeriodicTask

    from operations.models import Heartbeat

    entry = PeriodicTask.objects.get(name="Operations check")
    assert (entry.task, entry.interval.every, entry.interval.period, entry.enabled) == (
        "operations.tasks.operations_check", 60, "seconds", True)
    assert operations_check_task.apply().get() == {kind.value: 0 for kind in Alert.Kind}
    seen = Heartbeat.objects.get(name="worker").seen_at
    assert clock.now() - timedelta(seconds=5) <= seen <= clock.now()


@pytest.mark.django_db(transaction=True)
def test_checks_running_at_once_raise_one_alert_and_send_one_mail(administrator, own_redis):
    import threading

    from django.db import connection

    own_redis.stop()
    start = threading.Barrier(4)
    failures = []

    def check():
        try:
            start.wait()
            operations_check()
        except Exception as error:  # reported below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
    assert Alert.objects.filter(kind=Alert.Kind.BROKER_DOWN).count() == 1
    assert subjects() == ["[Rebate desk] Raised: Broker down (broker)"]


@pytest.mark.real_clock
@pytest.mark.django_db(transaction=True)
def test_a_run_whose_process_is_killed_midway_raises_the_stale_alert_and_the_next_run_clears_it(
        administrator, quiet_broker, settings):
    build_agreements(agreements=20, lines_per_month=2)
    ids = sorted(RebateAgreement.objects.values_list("pk", flat=True))
    holder = hold_agreement_lock(ids[6])  # the fourth chunk of two waits here: the process dies mid-run
    process = accrue_in_subprocess(ACCRUAL_CHUNK_SIZE="2")
    try:
        assert wait_for(lambda: AccrualRun.objects.filter(status="running", chunks_done__gte=3).exists(), 60)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)
    finally:
        holder.close()
    killed = AccrualRun.objects.get()
    assert killed.status == "running"

    settings.OPERATIONS_RUN_STALE_SECONDS = 0  # no progress since the kill: stale at once
    operations_check()
    [alert] = open_alerts(Alert.Kind.RUN_STALE)
    assert alert.key == f"run {killed.pk}" and alert.details["chunks_done"] < alert.details["chunks_total"]
    assert subjects() == [f"[Rebate desk] Raised: Accrual run stale (run {killed.pk})"]

    settings.ACCRUAL_RUN_STALE_SECONDS = 0  # the next run takes the dead one over
    assert wait_for(lambda: no_chunk_being_booked(killed), 60)
    assert accrual_run_perform(run_id=accrual_run_start(
        as_of=AS_OF, trigger=AccrualRun.Trigger.COMMAND, queue=False).pk).status == "succeeded"
    operations_check()
    alert.refresh_from_db()
    assert alert.cleared_at is not None
    assert subjects()[1:] == [f"[Rebate desk] Cleared: Accrual run stale (run {killed.pk})"]
