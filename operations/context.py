"""The context every log line carries while a request or a task is handled: its request id, the run it
belongs to, the user's id (never a name). Bound here, read by the log format and passed on to the tasks a
request queues (operations/task_logs.py), so one run is followed from the web to every worker."""

import re
import uuid

import structlog

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID when it is a plain token, else a new one."""
    if header and REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


def bind(**values) -> None:
    structlog.contextvars.bind_contextvars(**{k: v for k, v in values.items() if v is not None})


def clear() -> None:
    structlog.contextvars.clear_contextvars()


def current() -> dict:
    return structlog.contextvars.get_contextvars()
