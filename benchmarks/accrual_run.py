"""Accrual run on the synthetic data, each figure beside its floor measured in the same run.

The floor is one raw SQL aggregate of the same purchase lines per (agreement, month) over the agreement
scopes: what the database alone takes to read what the run reads. Every measurement starts from a copy of
the freshly loaded data (CREATE DATABASE ... TEMPLATE), VACUUM ANALYZEd, and the floor is measured between
the runs it bounds (floor, run, floor, run, ...); BENCH_REPEATS (default 3) rounds, the minimum of each quoted.

Targets (issue 19): full run <= 4 x floor; rerun with nothing changed books 0 entries in <= 0.05 x floor;
rerun after 1% of the lines changed <= 0.3 x floor; --full afterwards books 0 entries (agrees to the cent);
peak memory of a run <= 300 MB; closing every due settlement period (none closed yet) <= 1 x floor. Then the
full run and the 1% rerun at each of BENCH_SCALES (default "0.5 2"; "" skips them) times the synthetic data,
with time per purchase line.

The synthetic data gives a tenth of its agreements the newer rule kinds (clearance, product mix, conditional,
referral; issue 22: the full run stays within its ratio to the floor with them). SYNTHETIC_NEW_KINDS=0 loads the
older mix (the same agreements and lines, older kinds only) for the figure before them; the kinds loaded are
printed, and the full run's line names the mix. A tenth of the agreements are on buying groups (issue 24);
SYNTHETIC_GROUPS=0 loads the same book without them.

Runs book their chunks in BENCH_WORKERS processes (default 2, this machine's cores), as that many Celery
workers would. Run by `make bench` (PostgreSQL from the environment). BENCH_SYNTHETIC_SCALE=0.1 runs on a
tenth of the synthetic data (the other scales are relative to it).
"""

import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import django

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-12-31"
WORKERS = os.environ.get("BENCH_WORKERS", "2")
REPEATS = max(1, int(os.environ.get("BENCH_REPEATS", "3")))
SCALE = float(os.environ.get("BENCH_SYNTHETIC_SCALE", "1"))
SCALES = [float(s) for s in os.environ.get("BENCH_SCALES", "0.5 2").split()]

FLOOR_SQL = """
SELECT a.id, pl.month, SUM(pl.quantity), SUM(pl.amount)
FROM rebates_rebateagreement a
JOIN rebates_purchaseline pl ON pl.customer_id = a.customer_id
 AND pl.month >= a.start_month AND pl.month <= a.end_month
JOIN rebates_product pr ON pr.id = pl.product_id
WHERE EXISTS (SELECT 1 FROM rebates_rebateagreement_products sp
              WHERE sp.rebateagreement_id = a.id AND sp.product_id = pl.product_id)
   OR EXISTS (SELECT 1 FROM rebates_rebateagreement_product_lines sl
              WHERE sl.rebateagreement_id = a.id AND sl.productline_id = pr.product_line_id)
GROUP BY a.id, pl.month
"""

# Every hundredth line (by id) gets one more unit: 1% of the lines, spread over all of them.
CHANGE_ONE_PERCENT_SQL = """
UPDATE rebates_purchaseline
SET quantity = quantity + 1, amount = ROUND((quantity + 1) * unit_price, 2), updated_at = %s
WHERE id %% 100 = 7
"""


def database_url(name):
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{name}"))


def use_database(name):
    """Point this process's Django connection at database `name` (closing the current one)."""
    from django.db import connection

    connection.close()
    connection.settings_dict["NAME"] = name


def admin(*statements):
    """Run statements on the maintenance database, outside any transaction (this process's own connection
    closed first: no one may be on a database copied or dropped)."""
    import psycopg2
    from django.db import connection

    connection.close()
    conn = psycopg2.connect(database_url("postgres"))
    try:
        conn.autocommit = True
        with conn.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    finally:
        conn.close()


def copy_database(source, target):
    """(Re)create `target` as a file copy of `source`."""
    admin(f'DROP DATABASE IF EXISTS "{target}"', f'CREATE DATABASE "{target}" TEMPLATE "{source}" STRATEGY FILE_COPY')


def drop_database(name):
    admin(f'DROP DATABASE IF EXISTS "{name}"')


def vacuum_analyze():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def floor_seconds():
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(FLOOR_SQL)
        rows = cursor.fetchall()
    return time.perf_counter() - began, len(rows)


def run_accrual(database, *args):
    from django.db import connection

    connection.close()  # the run's processes have the database to themselves
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": database_url(database)}
    command = [sys.executable, str(ROOT / "benchmarks" / "_accrual_once.py"), AS_OF, *args, "--workers", WORKERS]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"accrual run failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def change_one_percent():
    from django.db import connection

    from config import clock

    with connection.cursor() as cursor:
        cursor.execute(CHANGE_ONE_PERCENT_SQL, [clock.now()])  # stamped on the app's clock, as writers do
        return cursor.rowcount


def close_due():
    """Close every due settlement period as of the run's date; (seconds, settlements drafted)."""
    from rebates.services import settlements_close_due

    began = time.perf_counter()
    created = settlements_close_due(as_of=date.fromisoformat(AS_OF))
    return time.perf_counter() - began, len(created)


def kinds_loaded():
    """(agreements of the newer kinds, all synthetic agreements, 'kind count, ...') of the data loaded."""
    from django.db.models import Count

    from rebates.models import RebateRule
    from rebates.synthetic import OLD_MIX, SYNTHETIC_PREFIX

    counts = dict(RebateRule.objects.filter(agreement__number__startswith=SYNTHETIC_PREFIX).order_by()
                  .values_list("kind").annotate(n=Count("pk")).values_list("kind", "n"))
    newer = sum(n for kind, n in counts.items() if kind not in OLD_MIX)
    words = ", ".join(f"{kind} {n:,}" for kind, n in sorted(counts.items(), key=lambda item: -item[1]))
    return newer, sum(counts.values()), words


def line(name, figure, floor, target, extra=""):
    ratio = figure / floor
    verdict = "ok" if ratio <= target else "ABOVE TARGET"
    print(f"accrual {name:<36} {figure:7.2f} s = {ratio:5.2f} x floor (target <= {target} x) {verdict}{extra}")
    return ratio <= target


def rounds(base, work, repeats, *, close=True, check=True):
    """`repeats` rounds on fresh copies of `base`, each: floor, full run, floor, rerun with nothing changed,
    floor, 1% of the lines changed, floor, rerun, floor, closing of the due periods. Returns the minimum of
    each figure and what the runs reported."""
    floors, runs = [], {"full": [], "nothing": [], "one_percent": [], "close": []}
    groups = changed = closed = None
    check_entries = None

    def floor():
        nonlocal groups
        seconds, groups = floor_seconds()
        floors.append(seconds)

    for _ in range(repeats):
        copy_database(base, work)
        use_database(work)
        vacuum_analyze()
        floor()
        runs["full"].append(run_accrual(work, "--full"))
        floor()
        runs["nothing"].append(run_accrual(work))
        floor()
        changed = change_one_percent()
        vacuum_analyze()
        floor()
        runs["one_percent"].append(run_accrual(work))
        floor()
        if close:
            seconds, closed = close_due()
            runs["close"].append({"seconds": seconds})
            floor()
        if check and check_entries is None:
            # Once: --full after the incremental runs must book nothing (the ledger agrees to the cent).
            check_entries = run_accrual(work, "--full")
    use_database(base)
    best = {name: min(r, key=lambda r: r["seconds"]) for name, r in runs.items() if r}
    peak = max(r.get("peak_mb", 0) for rs in runs.values() for r in rs)
    return min(floors), groups, best, peak, changed, closed, check_entries


def main():
    sys.stdout.reconfigure(line_buffering=True)  # each line as it comes, also into a log file
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.db import connection

    from rebates.synthetic import generate_synthetic, synthetic_exists

    main_db = connection.settings_dict["NAME"]
    empty, work = f"{main_db}_accrual_empty", f"{main_db}_accrual_work"

    def generate(scale):
        began = time.perf_counter()
        summary = generate_synthetic(customers=int(10_000 * scale), agreements=int(20_000 * scale),
                                     products=max(20, int(500 * scale)), lines=int(1_000_000 * scale))
        print(f"synthetic data x{scale:g} in {time.perf_counter() - began:.0f} s: {summary}")
        return summary

    fresh = not synthetic_exists()
    if fresh:
        use_database(main_db)
        copy_database(main_db, empty)  # migrated, no data: the other scales start from it
        generate(SCALE)
    total_lines = int(1_000_000 * SCALE)
    newer, agreements, words = kinds_loaded()
    mix = (f"newer kinds on {newer / agreements:.0%} of agreements" if newer
           else "older mix: no newer kinds (SYNTHETIC_NEW_KINDS=0)")
    from rebates.models import RebateAgreement

    on_groups = RebateAgreement.objects.filter(customer__is_group=True).count()
    mix += (f"; buying groups on {on_groups / agreements:.0%} of agreements" if on_groups
            else "; no buying groups (SYNTHETIC_GROUPS=0)")
    print(f"rule kinds loaded: {words}; {mix}")
    print(f"accrual runs book their chunks in {WORKERS} worker processes; {REPEATS} rounds, each on a fresh "
          f"copy of the loaded data after VACUUM ANALYZE, floor measured between the runs; minima quoted")
    floor, groups, best, peak, changed, closed, check = rounds(main_db, work, REPEATS)
    print(f"floor: one SQL aggregate of the lines per (agreement, month) over the scopes: {floor:.2f} s "
          f"({groups:,} groups)")
    full, nothing, one_percent, close = best["full"], best["nothing"], best["one_percent"], best["close"]
    results = [
        line("full run", full["seconds"], floor, 4,
             f"  [{full['agreements']:,} agreements, {full['entries']:,} entries, {full['total']}; {mix}]"),
        line("rerun after 1% of lines changed", one_percent["seconds"], floor, 0.3,
             f"  [{changed:,} lines changed, {one_percent['agreements']:,} agreements recomputed, "
             f"{one_percent['entries']:,} entries]"),
        line("rerun, nothing changed", nothing["seconds"], floor, 0.05, f"  [{nothing['entries']} entries]"),
        nothing["entries"] == 0,
        line("closing every due settlement period", close["seconds"], floor, 1, f"  [{closed:,} settlements]"),
    ]
    agrees = check["entries"] == 0
    print(f"accrual --full after the incremental runs: {check['entries']} entries booked "
          f"({'agrees to the cent' if agrees else 'DISAGREES'}) in {check['seconds']:.2f} s")
    results.append(agrees)
    peak = max(peak, check["peak_mb"])
    print(f"accrual peak memory of a run: {peak:.0f} MB (target <= 300 MB) {'ok' if peak <= 300 else 'ABOVE TARGET'}")
    results.append(peak <= 300)
    print(f"accrual at x{SCALE:g} data: full run {full['seconds'] / total_lines * 1e6:.1f} us a line, 1% rerun "
          f"{one_percent['seconds'] / total_lines * 1e6:.1f} us a line ({total_lines:,} lines)")

    if SCALES and not fresh:
        print("accrual at other scales skipped: the data was loaded before this benchmark started")
    for factor in SCALES if fresh else ():
        scale = SCALE * factor
        base = f"{main_db}_accrual_x{str(factor).replace('.', '_')}"
        copy_database(empty, base)
        use_database(base)
        generate(scale)
        floor, _, best, _, _, _, _ = rounds(base, work, 1, close=False, check=False)
        lines = int(1_000_000 * scale)
        print(f"accrual at x{factor:g} data ({lines:,} lines; floor {floor:.2f} s = "
              f"{floor / lines * 1e6:.1f} us a line): "
              f"full run {best['full']['seconds']:.2f} s = {best['full']['seconds'] / floor:.2f} x floor, "
              f"{best['full']['seconds'] / lines * 1e6:.1f} us a line; 1% rerun {best['one_percent']['seconds']:.2f} s "
              f"= {best['one_percent']['seconds'] / floor:.2f} x floor, "
              f"{best['one_percent']['seconds'] / lines * 1e6:.1f} us a line")
        drop_database(base)
    drop_database(work)
    print(f"benchmark process peak memory {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if not all(results):
        sys.exit(1)


if __name__ == "__main__":
    main()
