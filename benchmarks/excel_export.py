"""The finance accrual sheet with 250,000 rows, against bare XlsxWriter writing the same rows in the same run.

Target (issue 19): the product's export (the background ExportJob: the summary query, the rows through a
server-side cursor, the accrual, liability and about sheets, the file kept in storage) takes <= 1.15 x the
floor; peak memory of the export's process <= 200 MB.

The floor: bare XlsxWriter (constant_memory) writing the same rows, already read into memory, with the same
typed writers the export uses (`_write_string` for texts, `_write_number` for the month's serial and the
figures), under the same header, column widths and formats; nothing else (benchmarks/_excel_export_once.py).

Runs in a database of its own (the ledger is append-only), made and dropped here, VACUUM ANALYZEd after the
load. Floor and export each run in a fresh process, interleaved (floor, export, floor, export, ...)
BENCH_EXCEL_ROUNDS times (default 3, at least 3), and the minimum of each counts, so a burst of other work on
the machine does not decide the figure. The CPU seconds are printed too (for the export: its process and its
database backend). BENCH_EXCEL_ROWS changes the 250,000.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _excel_db import excel_database, run  # noqa: E402

ROWS = int(os.environ.get("BENCH_EXCEL_ROWS", "250000"))
ROUNDS = max(3, int(os.environ.get("BENCH_EXCEL_ROUNDS", "3")))
TARGET_RATIO, TARGET_MB = 1.15, 200
VARIANTS = ("xlsxwriter", "export")
LABELS = {"export": "the export (ExportJob)", "xlsxwriter": "floor: bare XlsxWriter, typed writers"}


def main():
    with excel_database("excel_export") as env:
        loaded = run(["benchmarks/_excel_data.py", "export", str(ROWS)], env, parse_json=True)
        print(f"synthetic data: {loaded['agreements']:,} agreements, {loaded['rows']:,} (agreement, month) rows, "
              f"{loaded['paid_settlements']:,} paid settlements, loaded in {loaded['seconds']:.0f} s "
              f"(then VACUUM ANALYZE)")
        runs = {variant: [] for variant in VARIANTS}
        for round_number in range(ROUNDS):
            for variant in VARIANTS:
                result = run(["benchmarks/_excel_export_once.py", variant], env, parse_json=True)
                if result["rows"] != ROWS:
                    sys.exit(f"{variant} wrote {result['rows']:,} rows, not {ROWS:,}")
                runs[variant].append(result)
                print(f"   round {round_number + 1}: {LABELS[variant]:<37} {result['seconds']:7.2f} s "
                      f"({result['cpu']:6.2f} s CPU)  "
                      f"peak {result['peak_mb']:5.0f} MB  {result['bytes'] / 1048576:5.1f} MB file")
    best = {variant: min(r["seconds"] for r in results) for variant, results in runs.items()}
    cpu = {variant: min(r["cpu"] for r in results) for variant, results in runs.items()}
    floor = best["xlsxwriter"]
    print(f"excel export {LABELS['xlsxwriter']} (constant_memory, rows in memory), minimum of {ROUNDS}: "
          f"{floor:.2f} s")
    ratio = best["export"] / floor
    peak = max(r["peak_mb"] for r in runs["export"])
    ok_time, ok_memory = ratio <= TARGET_RATIO, peak <= TARGET_MB
    print(f"excel export: finance accrual sheet, {ROWS:,} rows  {best['export']:7.2f} s = {ratio:5.2f} x floor "
          f"{floor:.2f} s (target <= {TARGET_RATIO} x) {'ok' if ok_time else 'ABOVE TARGET'}")
    print(f"excel export, CPU: the export {cpu['export']:.2f} s (its process and its database backend) = "
          f"{cpu['export'] / cpu['xlsxwriter']:.2f} x the floor's {cpu['xlsxwriter']:.2f} s")
    print(f"excel export: peak memory {peak:.0f} MB = {peak / TARGET_MB:4.2f} x the {TARGET_MB} MB limit "
          f"{'ok' if ok_memory else 'ABOVE TARGET'}")
    if not (ok_time and ok_memory):
        sys.exit(1)


if __name__ == "__main__":
    main()
