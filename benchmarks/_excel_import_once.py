"""One purchase import in a process of its own; prints its figures as JSON (used by excel_import.py).

python benchmarks/_excel_import_once.py make PATH ROWS PREFIX    # write the workbook (not timed)
python benchmarks/_excel_import_once.py import PATH              # upload, preview and commit the file
python benchmarks/_excel_import_once.py ingest PATH              # floor: its lines straight to the ingest service
python benchmarks/_excel_import_once.py openpyxl PATH            # floor: bare openpyxl read-only over the sheet
"""

import json
import os
import resource
import sys
import time
from decimal import Decimal

import django

CUSTOMERS, PRODUCTS = 10_000, 500


def make(path, rows, prefix):
    """A workbook as Excel writes it (shared strings, numbers as numbers): lines of the synthetic customers and
    products over 2025, about one in ten a credit note."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Purchase lines")
    sheet.write_row(0, 0, ("erp_line_id", "customer", "product", "month", "quantity", "unit_price", "amount"))
    for n in range(1, rows + 1):
        quantity = (n * 7) % 120 + 1
        if n % 10 == 0:
            quantity = -(quantity % 5 + 1)
        cents = 200 + (n * 13) % 9000
        price = Decimal(cents) / 100
        sheet.write_string(n, 0, f"{prefix}{n:08d}")
        sheet.write_string(n, 1, f"BK-C{(n % CUSTOMERS) + 1:06d}")
        sheet.write_string(n, 2, f"BK-P{(n % PRODUCTS) + 1:05d}")
        sheet.write_string(n, 3, f"2025-{(n % 12) + 1:02d}")
        sheet.write_number(n, 4, quantity)
        sheet.write_number(n, 5, price)
        sheet.write_number(n, 6, price * quantity)
    workbook.close()
    return {"rows": rows, "bytes": os.path.getsize(path)}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    what, path = sys.argv[1], sys.argv[2]
    if what == "make":
        print(json.dumps(make(path, int(sys.argv[3]), sys.argv[4])))
        return
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="bench.finance")
    began = time.perf_counter()
    if what == "import":
        from rebates.services.imports import purchase_import_file

        with open(path, "rb") as upload:
            outcome = purchase_import_file(user=user, upload=upload, name=os.path.basename(path), commit=True)
        batch = outcome.batch
        if batch.status != "stored":
            sys.exit(f"import not stored: {batch.status} {batch.errors[:5]}")
        figures = {"lines": batch.line_count, "created": batch.created_count, "unmatched": batch.unmatched_count}
    elif what == "ingest":
        from rebates.imports import purchase_file_read
        from rebates.models import PurchaseLine
        from rebates.services import purchase_lines_ingest

        with open(path, "rb") as stream:
            lines = purchase_file_read(stream, name=os.path.basename(path)).lines
        began = time.perf_counter()
        result = purchase_lines_ingest(lines=lines, source=PurchaseLine.Source.API, user=user)
        figures = {"lines": len(lines), "created": result.created, "unmatched": result.unmatched}
    else:
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True)
        count = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True)) - 1
        workbook.close()
        figures = {"lines": count}
    figures["seconds"] = time.perf_counter() - began
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
