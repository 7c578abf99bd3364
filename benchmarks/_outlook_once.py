"""The outlook of one accrual run in a process of its own; prints its figures as JSON (used by outlook.py).

python benchmarks/_outlook_once.py RUN_ID
"""

import json
import os
import resource
import sys
import time

import django


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from django.db import connection

    from rebates.models import AgreementForecast
    from rebates.services.outlook import agreement_forecasts_record

    run_id = int(sys.argv[1])
    connection.ensure_connection()  # a worker's connection is open when the task reaches it
    profile = os.environ.get("BENCH_PROFILE")
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    began = time.perf_counter()
    stored = agreement_forecasts_record(run_id=run_id)
    seconds = time.perf_counter() - began
    if profile:
        profiler.disable()
        profiler.dump_stats(profile)
    print(json.dumps({
        "seconds": seconds, "stored": stored,
        "next_tiers": AgreementForecast.objects.filter(run_id=run_id).exclude(next_kind="").count(),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
