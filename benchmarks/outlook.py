"""The nightly outlook (next tier and forecast of every agreement in its term, stored per run) on the
synthetic data, beside its floor: the full accrual run of the same round, as of the same day.

Each round starts from a copy of the freshly loaded data (CREATE DATABASE ... TEMPLATE), VACUUM ANALYZEd,
and measures the full accrual run (the floor), then the forecasts of that run alone in one process, then the
whole nightly outlook (every forecast chunk and the value and risk refresh, shared by BENCH_WORKERS worker
processes as the Celery workers share them); BENCH_REPEATS rounds (default 5 here: the whole outlook's two
workers and the run's move by a fifth between rounds on a shared machine), the minimum of each quoted.
Target: the whole outlook <= 0.5 x the full run (the forecasts alone are printed beside it). As of 30
September 2026, so the 2026 agreements are in their term with last year's months behind them (the synthetic
book starts in 2025).

Run by `make bench` (PostgreSQL from the environment); BENCH_SYNTHETIC_SCALE=0.1 runs on a tenth of the data.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent

AS_OF = "2026-09-30"
WORKERS = os.environ.get("BENCH_WORKERS", "2")
REPEATS = max(1, int(os.environ.get("BENCH_REPEATS", "5")))
SCALE = float(os.environ.get("BENCH_SYNTHETIC_SCALE", "1"))
TARGET = 0.5


def once(database, script, *args):
    from accrual_run import database_url
    from django.db import connection

    connection.close()  # the measured process has the database to itself
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url(database)}
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{script} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def customer_updates():
    """How many of the customers' row versions written so far (the refresh's) were heap-only: no index
    touched. The statistics of the processes that wrote them are flushed when those end."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT n_tup_upd, n_tup_hot_upd, pg_relation_size(relid) FROM pg_stat_user_tables "
                       "WHERE relname = 'customers_customer'")
        updated, heap_only, size = cursor.fetchone()
        # Digests of every figure stored, to compare two versions of the code on the same data.
        cursor.execute("SELECT md5(string_agg((to_jsonb(f) - 'id' - 'run_id' - 'created_at')::text, '|' "
                       "ORDER BY f.agreement_id)) FROM rebates_agreementforecast f")
        forecasts = cursor.fetchone()[0]
        cursor.execute("SELECT md5(string_agg(concat_ws(',', id, value_tier, risk_level, risk_points, "
                       "risk_reasons::text, valued_on), '|' ORDER BY id)) FROM customers_customer")
        customers = cursor.fetchone()[0]
    connection.close()
    return {"customer_updates": updated, "customer_heap_only": heap_only, "customer_bytes": size,
            "forecasts_md5": forecasts, "customers_md5": customers}


def main():
    sys.stdout.reconfigure(line_buffering=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))  # the accrual benchmark's database helpers
    django.setup()
    from accrual_run import copy_database, drop_database, use_database, vacuum_analyze
    from django.db import connection

    from rebates.synthetic import generate_synthetic, synthetic_exists

    main_db = connection.settings_dict["NAME"]
    work = f"{main_db}_outlook_work"
    if not synthetic_exists():
        began = time.perf_counter()
        summary = generate_synthetic(customers=int(10_000 * SCALE), agreements=int(20_000 * SCALE),
                                     products=max(20, int(500 * SCALE)), lines=int(1_000_000 * SCALE))
        print(f"synthetic data x{SCALE:g} in {time.perf_counter() - began:.0f} s: {summary}")
    print(f"outlook as of {AS_OF}; {REPEATS} rounds, each on a fresh copy of the loaded data after VACUUM "
          f"ANALYZE: the full accrual run ({WORKERS} worker processes) then its outlook; minima quoted")
    runs, outlooks, wholes = [], [], []
    for _ in range(REPEATS):
        copy_database(main_db, work)
        use_database(work)
        vacuum_analyze()
        run = once(work, "_accrual_once.py", AS_OF, "--full", "--workers", WORKERS)
        runs.append(run)
        outlooks.append(once(work, "_outlook_once.py", str(run["run"])))
        wholes.append(once(work, "_outlook_once.py", str(run["run"]), "--whole", "--workers", WORKERS))
        wholes[-1].update(customer_updates())
    use_database(main_db)
    drop_database(work)
    floor = min(runs, key=lambda r: r["seconds"])
    best = min(outlooks, key=lambda r: r["seconds"])
    ratio = best["seconds"] / floor["seconds"]
    whole = min(wholes, key=lambda r: r["seconds"])
    whole_ratio = whole["seconds"] / floor["seconds"]
    whole_verdict = "ok" if whole_ratio <= TARGET else "ABOVE TARGET"
    print(f"floor: the full accrual run as of {AS_OF}: {floor['seconds']:.2f} s "
          f"({floor['agreements']:,} agreements, {floor['entries']:,} entries)")
    print(f"outlook of every agreement in its term {best['seconds']:7.2f} s = {ratio:5.2f} x floor "
          f"[{best['stored']:,} forecasts, {best['next_tiers']:,} next tiers, peak {best['peak_mb']:.0f} MB]  "
          f"(the forecasts alone in one process, chunk after chunk, beside the run's {WORKERS} workers: no target, "
          f"the nightly outlook's is below)")
    print(f"the whole nightly outlook, {WORKERS} workers {whole['seconds']:7.2f} s = {whole_ratio:5.2f} x floor "
          f"(target <= {TARGET} x) {whole_verdict}  [{whole['chunks']} forecast chunks storing "
          f"{whole['stored']:,} (slowest {whole['chunk_seconds']:.2f} s), value and risk refresh "
          f"{whole['refresh_seconds']:.2f} s ({whole['refreshed']:,} customers written), "
          f"peak {whole['peak_mb']:.0f} MB]")
    print(f"   its CPU: forecast chunks {whole['chunks_cpu']:.2f} s + their database {whole['chunks_db_cpu']:.2f} s, "
          f"refresh {whole['refresh_cpu']:.2f} s + its database {whole['refresh_db_cpu']:.2f} s; "
          f"{whole['chunks_cpu'] + whole['chunks_db_cpu'] + whole['refresh_cpu'] + whole['refresh_db_cpu']:.2f} s "
          f"in all (the database's parallel workers not counted)")
    print(f"   customers' row versions written: {whole['customer_updates']:,}, heap-only (no index touched) "
          f"{whole['customer_heap_only']:,}; the table {whole['customer_bytes'] / 2**20:.1f} MB")
    print(f"   digests: forecasts {whole['forecasts_md5']}, customers' value and risk {whole['customers_md5']}")
    if whole_ratio > TARGET:
        sys.exit(1)


if __name__ == "__main__":
    main()
