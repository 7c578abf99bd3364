"""The outlook of one accrual run in a process of its own; prints its figures as JSON (used by outlook.py).

python benchmarks/_outlook_once.py RUN_ID
    the forecasts alone (`agreement_forecasts_record`: every chunk, one after another, in this process)
python benchmarks/_outlook_once.py RUN_ID --whole --workers N
    the whole nightly outlook as N Celery workers run it after the run: every forecast chunk
    (`agreement_forecasts_chunk_record`) and the value and risk refresh (`outlook_refresh`), each a task taken
    by the next free worker process, timed from listing the chunks (the fan-out's work) to the last task
    done, the worker processes' start included; the tasks' modules are loaded before, as a worker has them
    loaded (see `warm_up`). The run's forecasts stored before are deleted first, so the chunks store them
    all again.
"""

import json
import os
import resource
import sys
import time
from pathlib import Path

import django


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from django.db import connection

    from rebates.models import AgreementForecast

    run_id = int(sys.argv[1])
    whole = "--whole" in sys.argv
    workers = int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 1
    connection.ensure_connection()  # a worker's connection is open when the task reaches it
    profile = os.environ.get("BENCH_PROFILE")
    if whole:
        AgreementForecast.objects.filter(run_id=run_id).delete()
        figures = whole_outlook(run_id, workers)
    else:
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        figures = forecasts_alone(run_id)
        if profile:
            profiler.disable()
            profiler.dump_stats(profile)
    print(json.dumps({
        **figures,
        "next_tiers": AgreementForecast.objects.filter(run_id=run_id).exclude(next_kind="").count(),
        "peak_mb": max(resource.getrusage(who).ru_maxrss
                       for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024,
    }))


def forecasts_alone(run_id):
    from rebates.services.outlook import agreement_forecasts_record

    began = time.perf_counter()
    stored = agreement_forecasts_record(run_id=run_id)
    return {"seconds": time.perf_counter() - began, "stored": stored}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _backend_cpu_seconds(pid: int) -> float:
    """The CPU seconds used so far by the database server process `pid` (0.0 where /proc cannot tell): the
    database's share of a task's work, which the machine's two cores share with the workers."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _task(job):
    """One Celery task's work, in a worker process: (kind, seconds, rows, its CPU seconds, its database
    connection's CPU seconds)."""
    from django.db import connection

    from config import clock
    from outlook.services import outlook_refresh
    from rebates.models import AccrualRun
    from rebates.services.outlook import agreement_forecasts_chunk_record

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    began, cpu, database = time.perf_counter(), _cpu_seconds(), _backend_cpu_seconds(backend)
    if job[0] == "refresh":
        run = AccrualRun.objects.get(pk=job[1])
        rows = outlook_refresh(as_of=min(run.as_of, clock.today())).changed
    else:
        _, run_id, first, last = job
        rows = agreement_forecasts_chunk_record(run_id=run_id, first=first, last=last)
    return (job[0], time.perf_counter() - began, rows, _cpu_seconds() - cpu,
            _backend_cpu_seconds(backend) - database)


def warm_up():
    """Be what a Celery worker process is when the night's outlook reaches it (as the accrual benchmark's
    `warm_up`): the tasks' modules loaded, which the worker processes forked below then share. Loading the value
    and risk refresh's module costs about 0.13 s, once per worker process and not per night."""
    import outlook.services  # noqa: F401
    import outlook.tasks  # noqa: F401
    import rebates.services.outlook  # noqa: F401
    import rebates.tasks  # noqa: F401


def whole_outlook(run_id, workers):
    import multiprocessing

    from django.db import connections

    from rebates.services.outlook import agreement_forecast_chunks

    warm_up()
    began = time.perf_counter()
    # What the run's last chunk queues: the forecasts' fan-out (which lists the chunks) and the refresh.
    # The refresh, the longest task, is queued first, so a worker takes it while the others share the chunks.
    jobs = [("refresh", run_id)] + [("chunk", run_id, first, last)
                                    for first, last in agreement_forecast_chunks(run_id=run_id)]
    connections.close_all()  # each process opens its own connection
    with multiprocessing.get_context("fork").Pool(workers, initializer=connections.close_all) as pool:
        done = list(pool.imap_unordered(_task, jobs))
    seconds = time.perf_counter() - began
    chunks = [result for result in done if result[0] == "chunk"]
    refresh = next(result for result in done if result[0] == "refresh")
    return {"seconds": seconds, "stored": sum(result[2] for result in chunks), "chunks": len(chunks),
            "chunk_seconds": max((result[1] for result in chunks), default=0.0), "refresh_seconds": refresh[1],
            "refreshed": refresh[2],
            "chunks_cpu": sum(result[3] for result in chunks), "chunks_db_cpu": sum(result[4] for result in chunks),
            "refresh_cpu": refresh[3], "refresh_db_cpu": refresh[4]}


if __name__ == "__main__":
    main()
