"""One accrual run in a process of its own; prints its figures as JSON (used by accrual_run.py).

python benchmarks/_accrual_once.py AS_OF [--full] [--workers N]
"""

import json
import os
import resource
import sys
import time
from datetime import date

import django


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from rebates.services import accrual_run_perform, accrual_run_start

    as_of = date.fromisoformat(sys.argv[1])
    full = "--full" in sys.argv[2:]
    workers = int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 1
    warm_up()
    began = time.perf_counter()
    run = accrual_run_start(as_of=as_of, full=full, trigger="command", queue=False)
    # The run alone: closing the due periods and the outlook are tasks of their own after it.
    run = accrual_run_perform(run_id=run.pk, close_settlements=False, outlook=False, workers=workers)
    seconds = time.perf_counter() - began
    print(json.dumps({
        "seconds": seconds, "status": run.status, "entries": run.entries_count, "total": str(run.total_amount),
        "agreements": run.agreements_count, "chunks": run.chunks_total, "run": run.pk,
        # The largest process of the run: this one, or one of its chunk workers.
        "peak_mb": max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
        / 1024,
    }))


def warm_up():
    """Be what a Celery worker is when a run reaches it, so the figure is the run's own work: its modules
    loaded (the tasks, Celery's and the broker's client libraries: a run queues the closing of the due
    settlement periods when it ends) and its database connection open. Nothing is sent or written."""
    from django.db import connection

    import rebates.tasks  # noqa: F401  (what a run's end imports to queue the closing)
    from config.celery_app import app

    app.connection_for_write().get_transport_cls()  # loads the broker's client library; connects to nothing
    connection.ensure_connection()


if __name__ == "__main__":
    main()
