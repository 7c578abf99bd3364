"""The checks the operator's alerts come from: each reads the state of one kind of work and returns what is
wrong now, as {key: (message, details)}, or None when it cannot tell (its source is away) so that the
alerts it raised stay as they are. Details hold ids, counts and ages, never a customer's or a user's name."""

import json
from datetime import datetime, timedelta

from django.conf import settings

from config.celery_app import app as celery_app
from config.celery_app import broker_queue_length
from operations.models import Alert
from rebates.models import AccrualCheck, AccrualRun, ExportJob, ImportBatch

Problems = dict[str, tuple[str, dict]]
# Ids listed in an alert's details at most; the count says how many there are.
IDS_KEPT = 20


def _seconds(name: str) -> timedelta:
    return timedelta(seconds=getattr(settings, name))


def run_failed(now: datetime) -> Problems:
    """The latest accrual run that finished failed: open until a later run succeeds."""
    latest = (AccrualRun.objects.filter(status__in=(AccrualRun.Status.SUCCEEDED, AccrualRun.Status.FAILED))
              .order_by("-created_at", "-pk").first())
    if latest is None or latest.status != AccrualRun.Status.FAILED:
        return {}
    return {"accrual": (f"Accrual run {latest.pk} as of {latest.as_of:%Y-%m-%d} failed.",
                        {"run": latest.pk, "as_of": f"{latest.as_of:%Y-%m-%d}", "error": latest.error[:300]})}


def run_stale(now: datetime) -> Problems:
    """Runs queued or running with no progress for OPERATIONS_RUN_STALE_SECONDS (a killed worker, a lost
    message, a broker away): one alert per run, cleared once it succeeds or fails."""
    cutoff = now - _seconds("OPERATIONS_RUN_STALE_SECONDS")
    problems = {}
    for run in AccrualRun.objects.filter(status__in=(AccrualRun.Status.QUEUED, AccrualRun.Status.RUNNING)):
        moved = run.heartbeat_at or run.started_at or run.created_at
        if moved < cutoff:
            problems[f"run {run.pk}"] = (
                f"Accrual run {run.pk} has been {run.status} with no progress since {moved:%Y-%m-%d %H:%M:%S}.",
                {"run": run.pk, "status": run.status, "since": moved.isoformat(),
                 "chunks_done": run.chunks_done, "chunks_total": run.chunks_total})
    return problems


def ledger_drift(now: datetime) -> Problems:
    """The latest nightly sample check found the ledger differing from a full recompute."""
    check = AccrualCheck.objects.order_by("-created_at", "-id").first()
    if check is None or check.status != AccrualCheck.Status.DIFFERENCES:
        return {}
    return {"ledger": (f"The ledger check {check.pk} as of {check.as_of:%Y-%m-%d} found {check.differences_count} "
                       f"agreement months differing from a full recompute.",
                       {"check": check.pk, "as_of": f"{check.as_of:%Y-%m-%d}", "differences": check.differences_count})}


def queue_waiting(now: datetime) -> Problems | None:
    """The oldest message waiting in the default queue was sent longer than OPERATIONS_QUEUE_WAIT_SECONDS ago."""
    waiting = oldest_waiting(now)
    if waiting is None:
        return None
    depth, age = waiting
    queue = celery_app.conf.task_default_queue
    if age is None or age <= settings.OPERATIONS_QUEUE_WAIT_SECONDS:
        return {}
    return {queue: (f"The oldest of {depth} tasks waiting in queue {queue} was sent {age:.0f} seconds ago.",
                    {"queue": queue, "depth": depth, "oldest_seconds": round(age)})}


def export_stuck(now: datetime) -> Problems:
    jobs = ExportJob.objects.filter(status__in=(ExportJob.Status.QUEUED, ExportJob.Status.RUNNING),
                                    created_at__lt=now - _seconds("OPERATIONS_EXPORT_STUCK_SECONDS"))
    return _stuck("exports", "export", list(jobs.order_by("pk").values_list("pk", flat=True)))


def import_stuck(now: datetime) -> Problems:
    """File imports whose preview (pending) or storing (importing) has not ended in time."""
    batches = ImportBatch.objects.filter(source=ImportBatch.Source.FILE,
                                         status__in=(ImportBatch.Status.PENDING, ImportBatch.Status.IMPORTING),
                                         created_at__lt=now - _seconds("OPERATIONS_IMPORT_STUCK_SECONDS"))
    return _stuck("imports", "import", list(batches.order_by("pk").values_list("pk", flat=True)))


def _stuck(key, noun, ids) -> Problems:
    if not ids:
        return {}
    return {key: (f"{len(ids)} {noun}{'s' if len(ids) != 1 else ''} not finished in time (oldest: {noun} {ids[0]}).",
                  {"count": len(ids), "ids": ids[:IDS_KEPT]})}


def broker_down(now: datetime) -> Problems:
    try:
        broker_queue_length()
    except Exception as error:  # any refusal: the broker cannot take or hand out work
        return {"broker": ("The Celery broker cannot be reached: work is saved and waits until it is back.",
                           {"error": type(error).__name__})}
    return {}


# Each kind of alert and the check that raises and clears it, in the order they run.
CHECKS = {
    Alert.Kind.BROKER_DOWN: broker_down,
    Alert.Kind.RUN_FAILED: run_failed,
    Alert.Kind.RUN_STALE: run_stale,
    Alert.Kind.LEDGER_DRIFT: ledger_drift,
    Alert.Kind.QUEUE_WAITING: queue_waiting,
    Alert.Kind.EXPORT_STUCK: export_stuck,
    Alert.Kind.IMPORT_STUCK: import_stuck,
}


def oldest_waiting(now: datetime) -> tuple[int, float | None] | None:
    """(messages waiting in the default queue, seconds since the oldest of them was sent), or None when the
    broker cannot be read. The age is None for an empty queue, or a broker this cannot peek into (kombu's
    filesystem broker of `make run`). Tasks carry the moment they were sent in a `sent_at` header
    (operations/task_logs.py); Redis keeps a queue as a list whose far end is handed out next."""
    try:
        depth = broker_queue_length()
    except Exception:  # the broker is away: broker_down says so
        return None
    if depth == 0:
        return 0, None
    url = celery_app.conf.broker_url or ""
    if not url.startswith(("redis://", "rediss://")):
        return depth, None
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        raw = client.lindex(celery_app.conf.task_default_queue, -1)
    except redis.RedisError:
        return None
    sent_at = _sent_at(raw)
    return depth, None if sent_at is None else max((now - sent_at).total_seconds(), 0.0)


def _sent_at(raw) -> datetime | None:
    if raw is None:
        return None
    try:
        stamp = json.loads(raw).get("headers", {}).get("sent_at")
        return datetime.fromisoformat(stamp) if stamp else None
    except (ValueError, AttributeError, TypeError):
        return None
