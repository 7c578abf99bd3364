"""Importing a 100,000-row .xlsx of purchase lines, printed as rows per second.

The import is the whole use case as the import command runs it: the upload kept in storage, the guards, the
sheet read once, its lines validated for the preview, then validated and upserted for the commit. Beside it,
in the same run: the same lines handed straight to the ingest service (what the API does with them), and bare
openpyxl (read-only) only iterating the same sheet. Runs in a database of its own, made and dropped here.
BENCH_IMPORT_ROWS changes the 100,000.
"""

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _excel_db import excel_database, run  # noqa: E402

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", "100000"))


def main():
    with excel_database("excel_import") as env, tempfile.TemporaryDirectory() as folder:
        loaded = run(["benchmarks/_excel_data.py", "import"], env, parse_json=True)
        print(f"synthetic data: {loaded['customers']:,} customers, {loaded['products']:,} products, loaded in "
              f"{loaded['seconds']:.0f} s")
        files = {}
        for name, prefix in (("import", "XI-"), ("ingest", "XF-")):
            files[name] = os.path.join(folder, f"purchases-{name}.xlsx")
            made = run(["benchmarks/_excel_import_once.py", "make", files[name], str(ROWS), prefix], env,
                       parse_json=True)
        print(f"workbook: {ROWS:,} lines, {made['bytes'] / 1048576:.1f} MB (as Excel writes it: shared strings)")
        bare = run(["benchmarks/_excel_import_once.py", "openpyxl", files["import"]], env, parse_json=True)
        ingest = run(["benchmarks/_excel_import_once.py", "ingest", files["ingest"]], env, parse_json=True)
        imported = run(["benchmarks/_excel_import_once.py", "import", files["import"]], env, parse_json=True)
    for result in (bare, ingest, imported):
        if result["lines"] != ROWS:
            sys.exit(f"read {result['lines']:,} lines, not {ROWS:,}")
    rate = ROWS / imported["seconds"]
    print(f"excel import floor: bare openpyxl (read-only) iterating the sheet {bare['seconds']:.2f} s "
          f"({ROWS / bare['seconds']:,.0f} rows/s); the same lines straight to the ingest service "
          f"{ingest['seconds']:.2f} s ({ROWS / ingest['seconds']:,.0f} rows/s)")
    print(f"excel import: {ROWS:,}-row .xlsx uploaded, previewed and committed in {imported['seconds']:.2f} s = "
          f"{rate:,.0f} rows/s = {imported['seconds'] / ingest['seconds']:.2f} x the ingest alone, "
          f"{imported['seconds'] / bare['seconds']:.2f} x bare openpyxl reading; "
          f"{imported['created']:,} created, {imported['unmatched']:,} unmatched; peak memory "
          f"{imported['peak_mb']:.0f} MB")


if __name__ == "__main__":
    main()
