"""Log lines are JSON objects: one per request and one per task, with the request id (carried from the request
into the tasks it queues), the run and user ids, the duration and the outcome; never a user's name."""

import io
import json
import logging

import pytest
from django.test import Client

from config import clock
from config.celery_app import app as celery_app
from operations import context
from operations.log_format import json_formatter
from operations.models import TaskTally
from operations.task_logs import followed_ids
from operations.tasks import operations_check
from rebates.models import AccrualRun
from rebates.tasks import accrual_chunk_book
from tests.factories import UserFactory
from tests.pages.scenario import build as build_scenario
from tests.services import CeleryWorker, wait_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def log_lines():
    """The JSON lines the app's loggers write while the test runs, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


def test_one_json_line_per_request_with_its_request_id_user_id_duration_and_outcome(log_lines):
    user = UserFactory(username="felix.brandt", first_name="Felix", email="felix@example.com")
    client = Client()
    client.force_login(user)
    response = client.get("/customers/", headers={"X-Request-ID": "req-42"})
    assert response["X-Request-ID"] == "req-42"

    [line] = [line for line in log_lines() if line.get("event") == "request"]
    assert line["request_id"] == "req-42" and line["user_id"] == user.pk
    assert line["endpoint"] == "customer-list" and line["method"] == "GET"
    assert line["status"] == 200 and line["outcome"] == "ok" and line["duration_ms"] >= 0
    assert line["level"] == "info" and line["logger"] == "operations.requests" and line["timestamp"]
    raw = json.dumps(log_lines())
    assert "felix" not in raw.lower()


def test_a_refused_request_is_logged_with_its_outcome_and_a_new_request_id(log_lines):
    user = UserFactory()
    client = Client(raise_request_exception=False)
    client.force_login(user)
    client.get("/customers/NOT-THERE/", headers={"X-Request-ID": "bad id; dropped"})
    [line] = [line for line in log_lines() if line.get("event") == "request"]
    assert line["status"] == 404 and line["outcome"] == "refused" and line["user_id"] == user.pk
    assert line["endpoint"] == "customer-detail" and "NOT-THERE" not in json.dumps(line)
    assert len(line["request_id"]) == 32


def test_django_lines_about_a_failed_answer_carry_the_request_id(log_lines):
    Client(raise_request_exception=False).get("/health/ready", headers={"X-Request-ID": "req-503"})
    lines = log_lines()
    request_line = [line for line in lines if line.get("event") == "request"][0]
    assert request_line["status"] == 503 and request_line["outcome"] == "error"
    assert {line["request_id"] for line in lines} == {"req-503"}


def test_one_json_line_per_task_with_its_outcome_and_duration_and_the_task_is_counted(log_lines):
    result = operations_check.apply()
    assert result.successful()
    [line] = [line for line in log_lines() if line.get("event") == "task"]
    assert line["task"] == "operations.tasks.operations_check" and line["task_id"] == result.id
    assert line["outcome"] == "ok" and line["state"] == "SUCCESS" and line["duration_ms"] >= 0
    tally = TaskTally.objects.get(name="operations.tasks.operations_check")
    assert tally.runs == 1 and tally.failures == 0


def test_a_run_is_followed_by_its_run_id_in_its_chunk_tasks():
    assert followed_ids(accrual_chunk_book, (17, 5), {}) == {"run_id": 5}


def test_a_task_queued_during_a_request_carries_its_request_id_and_when_it_was_sent(own_redis):
    context.bind(request_id="req-77", user_id=3)
    try:
        operations_check.apply_async()
    finally:
        context.clear()
    with celery_app.connection_for_write() as connection:
        message = connection.SimpleQueue(celery_app.conf.task_default_queue).get(timeout=5)
        headers = message.headers
        message.ack()
    assert headers["request_id"] == "req-77" and headers["user_id"] == 3
    assert headers["sent_at"].startswith("2026-11-23T12:00")


@pytest.mark.django_db(transaction=True)
@pytest.mark.real_clock
def test_one_run_is_followed_by_its_request_id_from_the_page_to_every_worker_task(own_redis, tmp_path):
    scenario = build_scenario(accrue=False, as_of=clock.today())
    finance = scenario["finance"]
    log = tmp_path / "worker.log"
    worker = CeleryWorker(own_redis, log).start()
    try:
        client = Client()
        client.force_login(finance)
        response = client.post("/accruals/runs/", {"as_of": clock.today().isoformat(), "full": "on"},
                               headers={"X-Request-ID": "req-run-1"})
        assert response.status_code == 302
        run = AccrualRun.objects.get()
        assert wait_for(lambda: '"accrual run finished"' in log.read_text(), timeout=120), log.read_text()[-3000:]
        # The last chunk is counted as its task ends, just after the run's own "finished" line: waited for
        # before the worker stops, so stopping it cannot cut that task short.
        run.refresh_from_db()
        assert wait_for(lambda: TaskTally.objects.filter(name="rebates.tasks.accrual_chunk_book",
                                                         runs=run.chunks_total).exists(), timeout=30)
    finally:
        worker.stop()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    followed = [line for line in lines if line.get("request_id") == "req-run-1"]
    task_lines = [line for line in followed if line["event"] == "task"]
    assert {"rebates.tasks.accrual_run_execute", "rebates.tasks.accrual_chunk_book"} <= {
        line["task"] for line in task_lines}
    assert {line["run_id"] for line in task_lines if line["task"].startswith("rebates.tasks.accrual")} == {run.pk}
    assert all(line["outcome"] == "ok" and line["user_id"] == finance.pk for line in task_lines)
    [finished] = [line for line in followed if line["event"] == "accrual run finished"]
    run.refresh_from_db()
    assert finished["run_id"] == run.pk and finished["entries"] == run.entries_count
    assert finished["total"] == str(run.total_amount)
    assert "felix" not in log.read_text().lower()  # Felix Brandt, finance: an id only
