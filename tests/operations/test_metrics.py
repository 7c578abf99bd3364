"""/metrics: Prometheus's text format for the allowed networks or the token, 403 for anyone else."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from config import gunicorn
from operations.services import operations_check
from rebates.models import AccrualRun
from tests.pages.scenario import build as build_scenario

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def samples(body: bytes) -> dict:
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(body.decode()) for sample in family.samples}


def test_an_anonymous_request_from_a_disallowed_address_is_refused():
    response = Client(REMOTE_ADDR="203.0.113.7").get("/metrics")
    assert response.status_code == 403
    assert b"rebate_" not in response.content


def test_a_wrong_token_is_refused_and_the_right_one_is_served(settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    outside = Client(REMOTE_ADDR="203.0.113.7")
    assert outside.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 403
    assert outside.get("/metrics", headers={"Authorization": "Bearer s3cret-metrics-token"}).status_code == 200


def test_an_allowed_network_reads_the_run_ingest_queue_and_answers(settings, own_redis):
    settings.METRICS_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    scenario = build_scenario()
    run = AccrualRun.objects.get()
    operations_check()
    client = Client(REMOTE_ADDR="10.1.2.3")
    client.force_login(scenario["am"])
    assert client.get("/customers/C-2001/").status_code == 404  # another manager's customer: counted as a 4xx

    response = client.get("/metrics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    found = samples(response.content)
    labels = (("as_of", "2026-11-23"), ("run", str(run.pk)), ("status", "succeeded"))
    assert found[("rebate_accrual_run_entries", labels)] == run.entries_count > 0
    assert found[("rebate_accrual_run_agreements", labels)] == run.agreements_count
    assert found[("rebate_accrual_run_total_cents", labels)] == int(run.total_amount * 100)
    assert ("rebate_accrual_run_duration_seconds", labels) in found
    assert found[("rebate_queue_depth", (("queue", "celery"),))] == 0
    assert found[("rebate_broker_up", ())] == 1
    assert found[("rebate_alerts_open", (("kind", "broker_down"),))] == 0
    assert ("rebate_ingest_lines_total", (("source", "api"),)) in found
    assert found[("rebate_http_responses_total", (("endpoint", "customer-detail"), ("method", "GET"),
                                                  ("status", "4xx")))] >= 1
    # Counts and ids only: no customer's or user's name, no URL argument.
    body = response.content.decode()
    for private in ("C-2001", "Someone Else", "am.north", "Nora"):
        assert private not in body


def test_the_answers_of_several_web_processes_add_up(tmp_path, monkeypatch, settings):
    """As gunicorn runs in the web container: each process counts in the shared directory, /metrics sums them."""
    settings.METRICS_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    (tmp_path / "left-from-before.db").write_bytes(b"")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    gunicorn.on_starting(server=None)
    assert list(tmp_path.iterdir()) == []
    answer = ("import django; django.setup(); from operations.metrics import request_observe; "
              "request_observe(endpoint='customer-detail', method='GET', status=404, seconds=0.1)")
    for _ in range(2):  # two worker processes, one answer each
        subprocess.run([sys.executable, "-c", answer], cwd=ROOT, check=True, timeout=120,
                       env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"})
    found = samples(Client(REMOTE_ADDR="10.1.2.3").get("/metrics").content)
    assert found[("rebate_http_responses_total", (("endpoint", "customer-detail"), ("method", "GET"),
                                                  ("status", "4xx")))] == 2
