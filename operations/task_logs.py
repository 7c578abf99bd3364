"""One JSON line per Celery task (operations.tasks): its task name and id, the request id of the request that
queued it (carried in the message), the run and user ids among its arguments, outcome and duration; each
finished task is counted for /metrics. Every message also carries when it was sent, so the age of the
oldest waiting task can be read from the queue."""

import inspect
import logging

from celery import signals

from config import clock
from operations import context

logger = logging.getLogger("operations.tasks")
# Arguments worth following a piece of work by: ids only.
FOLLOWED = ("run_id", "job_id", "batch_id", "claim_id", "user_id")
_started: dict[str, float] = {}


def connect() -> None:
    signals.before_task_publish.connect(_stamp, weak=False, dispatch_uid="operations.stamp")
    signals.task_prerun.connect(_begin, weak=False, dispatch_uid="operations.begin")
    signals.task_postrun.connect(_end, weak=False, dispatch_uid="operations.end")


def _stamp(headers=None, **kwargs):
    if headers is None:
        return
    headers.setdefault("sent_at", clock.now().isoformat())
    bound = context.current()
    for name in ("request_id", "user_id"):
        if bound.get(name) is not None and name not in headers:
            headers[name] = bound[name]


def followed_ids(task, args, kwargs) -> dict:
    try:
        names = list(inspect.signature(task.run).parameters)
    except (TypeError, ValueError):
        names = []
    values = dict(zip(names, args or (), strict=False)) | dict(kwargs or {})
    return {name: values[name] for name in FOLLOWED if isinstance(values.get(name), int)}


def _begin(task_id=None, task=None, args=None, kwargs=None, **extra):
    context.clear()
    request = task.request
    context.bind(task=task.name, task_id=task_id, request_id=getattr(request, "request_id", None) or task_id,
                 user_id=getattr(request, "user_id", None), **followed_ids(task, args, kwargs))
    _started[task_id] = clock.seconds()


def _end(task_id=None, task=None, retval=None, state=None, **extra):
    began = _started.pop(task_id, None)
    seconds = clock.seconds() - began if began is not None else 0.0
    failed = state not in ("SUCCESS", None)
    try:
        logger.info("task", extra={"outcome": "error" if failed else "ok", "state": state,
                                   "duration_ms": round(seconds * 1000, 1)})
        from operations.services import task_tally_record

        task_tally_record(name=task.name, seconds=seconds, failed=failed, result=None if failed else retval)
    except Exception:  # counting must never fail the task (the database may be away)
        logger.warning("task not counted", exc_info=True)
    finally:
        context.clear()
