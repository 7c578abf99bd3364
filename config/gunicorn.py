"""gunicorn's settings for the web container (`--config python:config.gunicorn`): with PROMETHEUS_MULTIPROC_DIR
set, every worker process writes its request counts there and /metrics adds them up (docs/operations.md)."""

import os
import shutil


def on_starting(server):
    """Counts of a previous start are not this one's: the directory starts empty."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    """A worker that exits leaves its counts, but no longer counts in the live gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
