"""Accrual run on the synthetic data, each figure beside its floor measured in the same run.

The floor is one raw SQL aggregate of the same purchase lines per (agreement, month) over the agreement
scopes: what the database alone takes to read what the run reads. Targets (issue 4):
first full run <= 6 x floor; rerun with nothing changed books 0 entries in <= 0.5 x floor; rerun after
1% of the lines changed <= 1 x floor; --full afterwards books 0 entries (agrees to the cent); peak
memory of a run <= 500 MB.

Runs book their chunks in BENCH_WORKERS processes (default 2, this machine's cores), as that many Celery
workers would. Run by `make bench` (PostgreSQL from the environment). BENCH_SYNTHETIC_SCALE=0.1 runs on a
tenth of the synthetic data.
"""

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-12-31"

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


def floor_seconds(connection):
    timings = []
    for _ in range(3):
        began = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(FLOOR_SQL)
            rows = cursor.fetchall()
        timings.append(time.perf_counter() - began)
    return statistics.median(timings), len(rows)


WORKERS = os.environ.get("BENCH_WORKERS", "2")


def run_accrual(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(ROOT / "benchmarks" / "_accrual_once.py"), AS_OF, *args, "--workers", WORKERS]
    result = subprocess.run(command,
                            cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"accrual run failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def line(name, figure, floor, target, extra=""):
    ratio = figure / floor
    verdict = "ok" if ratio <= target else "ABOVE TARGET"
    print(f"accrual {name:<34} {figure:7.2f} s = {ratio:5.2f} x floor (target <= {target} x) {verdict}{extra}")
    return ratio <= target


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.db import connection

    from config import clock
    from rebates.synthetic import generate_synthetic, synthetic_exists

    scale = float(os.environ.get("BENCH_SYNTHETIC_SCALE", "1"))
    if not synthetic_exists():
        summary = generate_synthetic(customers=int(10_000 * scale), agreements=int(20_000 * scale),
                                     products=max(20, int(500 * scale)), lines=int(1_000_000 * scale))
        print(f"synthetic data: {summary}")

    floor, groups = floor_seconds(connection)
    print(f"accrual runs book their chunks in {WORKERS} worker processes")
    print(f"floor: one SQL aggregate of the lines per (agreement, month) over the scopes: {floor:.2f} s "
          f"({groups:,} groups)")
    results = []

    full = run_accrual("--full")
    results.append(line("first full run", full["seconds"], floor, 6,
                        f"  [{full['agreements']:,} agreements, {full['entries']:,} entries, {full['total']}]"))

    nothing = run_accrual()
    results.append(line("rerun, nothing changed", nothing["seconds"], floor, 0.5,
                        f"  [{nothing['entries']} entries]"))
    results.append(nothing["entries"] == 0)

    with connection.cursor() as cursor:
        cursor.execute(CHANGE_ONE_PERCENT_SQL, [clock.now()])  # stamped on the app's clock, as writers do
        changed = cursor.rowcount
    one_percent = run_accrual()
    results.append(line("rerun after 1% of lines changed", one_percent["seconds"], floor, 1,
                        f"  [{changed:,} lines changed, {one_percent['agreements']:,} agreements recomputed, "
                        f"{one_percent['entries']:,} entries]"))

    check = run_accrual("--full")
    agrees = check["entries"] == 0
    print(f"accrual --full after the incremental runs: {check['entries']} entries booked "
          f"({'agrees to the cent' if agrees else 'DISAGREES'}) in {check['seconds']:.2f} s")
    results.append(agrees)

    peak = max(run["peak_mb"] for run in (full, nothing, one_percent, check))
    print(f"accrual peak memory of a run: {peak:.0f} MB (target <= 500 MB) {'ok' if peak <= 500 else 'ABOVE TARGET'}")
    results.append(peak <= 500)
    if not all(results):
        sys.exit(1)


if __name__ == "__main__":
    main()
