"""Importing a 100,000-row .xlsx of purchase lines, against the ingest alone and against reading the file.

The import is the whole use case as the pages run it, one step after the other: the upload kept in storage
(start), the guards, the sheet read and its lines checked and counted (preview), then the checked lines stored
(commit). Beside it, in the same run and interleaved with it (floor, ingest, import, three rounds or
BENCH_IMPORT_ROUNDS; each in a fresh process, after VACUUM ANALYZE of the purchase lines and batches):
- the ingest alone: the same lines (erp_line_ids renamed) handed straight to the ingest service, as the API
  does: the import's target is at least half its speed;
- the floor: the faster of python-calamine and openpyxl (read-only) reading the same file to rows of values.
Each figure is the minimum over the rounds; the peak memory is the import's highest. Runs in a database of its
own, made and dropped here. BENCH_IMPORT_ROWS changes the 100,000.
"""

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _excel_db import excel_database, run  # noqa: E402

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))
ROUNDS = max(3, int(os.environ.get("BENCH_IMPORT_ROUNDS", "3")))
SPEED_TARGET = 0.5  # the import's speed over the ingest's, at least
PEAK_TARGET_MB = 150


def verdict(ok: bool) -> str:
    return "ok" if ok else "ABOVE TARGET"


def main():
    once = "benchmarks/_excel_import_once.py"
    with excel_database("excel_import") as env, tempfile.TemporaryDirectory() as folder:
        loaded = run(["benchmarks/_excel_data.py", "import"], env, parse_json=True)
        print(f"synthetic data: {loaded['customers']:,} customers, {loaded['products']:,} products, loaded in "
              f"{loaded['seconds']:.0f} s")
        files = []
        for round_ in range(1, ROUNDS + 1):
            # A file of new lines for each round, so every import creates its 100,000 lines.
            files.append(os.path.join(folder, f"purchases-{round_}.xlsx"))
            made = run([once, "make", files[-1], str(ROWS), f"XI{round_}-"], env, parse_json=True)
        print(f"workbook: {ROWS:,} lines, {made['bytes'] / 1048576:.1f} MB (as Excel writes it: shared strings)")
        seen = {"calamine": [], "openpyxl": [], "ingest": [], "import": []}
        for path in files:
            for what in seen:
                result = run([once, what, path], env, parse_json=True)
                if result["lines"] != ROWS:
                    sys.exit(f"{what} read {result['lines']:,} lines, not {ROWS:,}")
                seen[what].append(result)
    best = {what: min(results, key=lambda result: result["seconds"]) for what, results in seen.items()}
    floor_name = min(("calamine", "openpyxl"), key=lambda what: best[what]["seconds"])
    floor, ingest, imported = best[floor_name]["seconds"], best["ingest"]["seconds"], best["import"]["seconds"]
    peak = max(result["peak_mb"] for result in seen["import"])
    speed = ingest / imported
    print(f"excel import floor ({ROUNDS} rounds interleaved, minima): python-calamine reading the sheet to rows "
          f"{best['calamine']['seconds']:.2f} s, openpyxl (read-only) {best['openpyxl']['seconds']:.2f} s: "
          f"floor = {floor_name} {floor:.2f} s ({ROWS / floor:,.0f} rows/s); the same lines straight to the ingest "
          f"service {ingest:.2f} s ({ROWS / ingest:,.0f} rows/s)")
    print(f"excel import: {ROWS:,}-row .xlsx uploaded, previewed and committed in {imported:.2f} s = "
          f"{ROWS / imported:,.0f} rows/s = {speed:.2f} x the speed of the ingest alone (target >= {SPEED_TARGET}: "
          f"{verdict(speed >= SPEED_TARGET)}), {imported / floor:.2f} x the floor; "
          f"{best['import']['created']:,} created, {best['import']['unmatched']:,} unmatched; the file read "
          f"{best['import']['reads']} time(s); peak memory {peak:.0f} MB (target <= {PEAK_TARGET_MB} MB: "
          f"{verdict(peak <= PEAK_TARGET_MB)})")


if __name__ == "__main__":
    main()
