"""One purchase import in a process of its own; prints its figures as JSON (used by excel_import.py).

python benchmarks/_excel_import_once.py make PATH ROWS PREFIX    # write the workbook (not timed)
python benchmarks/_excel_import_once.py import PATH              # upload, preview and commit the file
python benchmarks/_excel_import_once.py ingest PATH              # its lines (renamed) straight to the ingest service
python benchmarks/_excel_import_once.py calamine PATH            # floor: python-calamine reading the sheet to rows
python benchmarks/_excel_import_once.py openpyxl PATH            # floor: openpyxl read-only reading it to rows
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


def read_rows(what, path):
    """The floor: the sheet read to rows of values (a list per row) by a bare library; answers the lines."""
    count = 0
    if what == "calamine":
        from python_calamine import CalamineWorkbook

        workbook = CalamineWorkbook.from_path(path)
        for _row in workbook.get_sheet_by_index(0).iter_rows():
            count += 1
        workbook.close()
    else:
        from openpyxl import load_workbook

        workbook = load_workbook(path, read_only=True)
        for _row in workbook.worksheets[0].iter_rows(values_only=True):
            count += 1
        workbook.close()
    return count - 1


def db_step(what, path):
    """The import (start, preview, commit as the tasks run them) or the ingest alone; (figures, start time)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE rebates_purchaseline")
        cursor.execute("VACUUM ANALYZE rebates_importbatch")
    user = get_user_model().objects.get(username="bench.finance")
    if what == "import":
        import rebates.services.imports as service
        from rebates.services.imports import purchase_import_commit, purchase_import_preview, purchase_import_start

        # Counts how many times the steps read the file (the point of keeping the checked lines).
        reads = []
        read = service.purchase_file_read

        def read_counted(*args, **kwargs):
            reads.append(1)
            return read(*args, **kwargs)

        service.purchase_file_read = read_counted
        began = time.perf_counter()
        with open(path, "rb") as upload:
            batch = purchase_import_start(user=user, upload=upload, name=os.path.basename(path))
        previewed = purchase_import_preview(batch_id=batch.pk).batch
        if previewed.status != "previewed":
            sys.exit(f"import not previewed: {previewed.status} {previewed.errors[:5]}")
        batch = purchase_import_commit(batch_id=batch.pk, user=user).batch
        if batch.status != "stored":
            sys.exit(f"import not stored: {batch.status} {batch.errors[:5]}")
        return {"lines": batch.line_count, "created": batch.created_count, "unmatched": batch.unmatched_count,
                "reads": len(reads)}, began
    from rebates.imports import purchase_file_read
    from rebates.models import PurchaseLine
    from rebates.services import purchase_lines_ingest

    with open(path, "rb") as stream:
        lines = purchase_file_read(stream, name=os.path.basename(path)).lines
    # The same lines under other ids, as the API would send them (a mapping each).
    lines = [{**line, "erp_line_id": "XF" + line["erp_line_id"][2:]} for line in lines]
    began = time.perf_counter()
    result = purchase_lines_ingest(lines=lines, source=PurchaseLine.Source.API, user=user)
    if result.created != len(lines):
        sys.exit(f"ingest created {result.created:,} of {len(lines):,} lines")
    return {"lines": len(lines), "created": result.created, "unmatched": result.unmatched}, began


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    what, path = sys.argv[1], sys.argv[2]
    if what == "make":
        print(json.dumps(make(path, int(sys.argv[3]), sys.argv[4])))
        return
    if what in ("calamine", "openpyxl"):
        began = time.perf_counter()
        figures = {"lines": read_rows(what, path)}
    else:
        figures, began = db_step(what, path)
    figures["seconds"] = time.perf_counter() - began
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
