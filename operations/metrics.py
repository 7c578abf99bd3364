"""The /metrics page in Prometheus's text format.

Two sources: what this process counts as it answers (requests by endpoint and status class, their
durations), and what the database and the broker say at the moment of the scrape (accrual runs, ingest,
queue, tasks of every worker, alerts), so every worker's work shows whichever web process answers. With
several web processes, set PROMETHEUS_MULTIPROC_DIR (one empty directory shared by them) to add up their
request counts (docs/operations.md).
"""

import os
from decimal import Decimal

from django.db import DatabaseError
from django.db.models import Count, Sum
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from config import clock
from operations import checks
from operations.models import Alert, Heartbeat, TaskTally
from rebates.models import AccrualRun, ImportBatch

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Runs shown one by one (newest first): enough for a week of nights and a few reruns.
RUNS_SHOWN = 10
DETECTION_TASK = "pricing_signals.tasks.nightly_signal_sweep"

_PROCESS = CollectorRegistry()
HTTP_RESPONSES = Counter("rebate_http_responses", "Answers by endpoint (URL name), method and status class.",
                         ["endpoint", "method", "status"], registry=_PROCESS)
HTTP_SECONDS = Histogram("rebate_http_request_duration_seconds", "Time to answer, by endpoint (URL name).",
                         ["endpoint"], registry=_PROCESS,
                         buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))


def request_observe(*, endpoint: str, method: str, status: int, seconds: float) -> None:
    HTTP_RESPONSES.labels(endpoint=endpoint, method=method, status=f"{status // 100}xx").inc()
    HTTP_SECONDS.labels(endpoint=endpoint).observe(seconds)


def render() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(_Stored())
    return generate_latest(registry)


class _ThisProcess:
    def collect(self):
        yield from _PROCESS.collect()


def cents(amount: Decimal) -> int:
    """A money amount as a whole number of cents: exact in Prometheus's numbers (below 2**53), never a float sum."""
    return int((amount * 100).to_integral_value())


class _Stored:
    """Read at each scrape from the database and the broker."""

    def collect(self):
        now = clock.now()
        up = GaugeMetricFamily("rebate_metrics_database_up", "1 when the database answered this scrape.")
        try:
            families = list(self._from_database(now))
        except DatabaseError:
            up.add_metric([], 0)
            yield up
        else:
            up.add_metric([], 1)
            yield up
            yield from families
        yield from self._queue(now)

    def _from_database(self, now):
        yield from self._runs()
        yield from self._ingest()
        yield from self._tasks()
        alerts = GaugeMetricFamily("rebate_alerts_open", "Open alerts by kind.", labels=["kind"])
        open_counts = dict(Alert.objects.filter(cleared_at__isnull=True).values_list("kind").annotate(n=Count("id")))
        for kind in Alert.Kind:
            alerts.add_metric([kind.value], open_counts.get(kind.value, 0))
        yield alerts
        seen = Heartbeat.objects.filter(name="worker").values_list("seen_at", flat=True).first()
        if seen is not None:
            worker = GaugeMetricFamily("rebate_worker_last_seen_seconds", "Seconds since a worker ran the checks.")
            worker.add_metric([], max((now - seen).total_seconds(), 0))
            yield worker

    def _runs(self):
        labels = ["run", "as_of", "status"]
        duration = GaugeMetricFamily("rebate_accrual_run_duration_seconds", "Start to finish of each recent run.",
                                     labels=labels)
        agreements = GaugeMetricFamily("rebate_accrual_run_agreements", "Agreements recomputed by each recent run.",
                                       labels=labels)
        entries = GaugeMetricFamily("rebate_accrual_run_entries", "Ledger entries booked by each recent run.",
                                    labels=labels)
        total = GaugeMetricFamily("rebate_accrual_run_total_cents", "Sum of the entries each recent run booked, "
                                  "in cents.", labels=labels)
        runs = AccrualRun.objects.exclude(status=AccrualRun.Status.QUEUED).order_by("-created_at", "-pk")[:RUNS_SHOWN]
        for run in runs:
            values = [str(run.pk), f"{run.as_of:%Y-%m-%d}", run.status]
            if run.duration is not None:
                duration.add_metric(values, run.duration.total_seconds())
            agreements.add_metric(values, run.agreements_count)
            entries.add_metric(values, run.entries_count)
            total.add_metric(values, cents(run.total_amount))
        yield from (duration, agreements, entries, total)
        last = (AccrualRun.objects.filter(status=AccrualRun.Status.SUCCEEDED, finished_at__isnull=False)
                .order_by("-finished_at").values_list("finished_at", flat=True).first())
        if last is not None:
            success = GaugeMetricFamily("rebate_accrual_run_last_success_timestamp_seconds",
                                        "When the last successful run finished (Unix time).")
            success.add_metric([], last.timestamp())
            yield success

    def _ingest(self):
        lines = CounterMetricFamily("rebate_ingest_lines", "Purchase lines received, by source (rate(): lines a "
                                    "second).", labels=["source"])
        batches = CounterMetricFamily("rebate_ingest_batches", "Purchase batches received, by source.",
                                      labels=["source"])
        totals = {row["source"]: row for row in
                  ImportBatch.objects.values("source").annotate(lines=Sum("line_count"), batches=Count("id"))}
        for source in ImportBatch.Source:
            row = totals.get(source.value, {})
            lines.add_metric([source.value], row.get("lines") or 0)
            batches.add_metric([source.value], row.get("batches") or 0)
        yield from (lines, batches)

    def _tasks(self):
        runs = CounterMetricFamily("rebate_task_runs", "Celery tasks finished, by task (every worker).",
                                   labels=["task"])
        failures = CounterMetricFamily("rebate_task_failures", "Celery tasks failed, by task.", labels=["task"])
        seconds = CounterMetricFamily("rebate_task_seconds", "Seconds spent in finished tasks, by task: with "
                                      "rebate_task_runs, the mean duration of exports, imports and detection.",
                                      labels=["task"])
        last = GaugeMetricFamily("rebate_task_last_seconds", "Duration of the last finished task, by task.",
                                 labels=["task"])
        changed = None
        for tally in TaskTally.objects.order_by("name"):
            runs.add_metric([tally.name], tally.runs)
            failures.add_metric([tally.name], tally.failures)
            seconds.add_metric([tally.name], tally.seconds_total)
            last.add_metric([tally.name], tally.last_seconds)
            if tally.name == DETECTION_TASK and isinstance(tally.last_result, dict):
                changed = tally.last_result.get("changed")
        yield from (runs, failures, seconds, last)
        if changed is not None:
            detection = GaugeMetricFamily("rebate_detection_claims_changed",
                                          "Claims whose status the last detection sweep changed.")
            detection.add_metric([], changed)
            yield detection

    def _queue(self, now):
        waiting = checks.oldest_waiting(now)
        broker = GaugeMetricFamily("rebate_broker_up", "1 when the Celery broker answered this scrape.")
        broker.add_metric([], 0 if waiting is None else 1)
        yield broker
        if waiting is None:
            return
        depth, age = waiting
        queue = checks.celery_app.conf.task_default_queue
        family = GaugeMetricFamily("rebate_queue_depth", "Tasks waiting for a worker.", labels=["queue"])
        family.add_metric([queue], depth)
        yield family
        oldest = GaugeMetricFamily("rebate_queue_oldest_wait_seconds", "How long the oldest waiting task has "
                                   "waited (0 when none waits).", labels=["queue"])
        oldest.add_metric([queue], age or 0)
        yield oldest
