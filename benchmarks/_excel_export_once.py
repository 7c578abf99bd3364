"""One write of the finance accrual sheet in a process of its own; prints seconds, rows and peak memory as
JSON (used by excel_export.py).

python benchmarks/_excel_export_once.py export      # the product's background export: query, sheets, storage
python benchmarks/_excel_export_once.py xlsxwriter  # floor: bare XlsxWriter (constant_memory), rows in memory
python benchmarks/_excel_export_once.py openpyxl    # floor: bare openpyxl (write-only), rows in memory
"""

import json
import os
import resource
import sys
import tempfile
import time

import django


def rows_in_memory(user):
    """The sheet's rows exactly as the export hands them to the writer (the month as Excel's serial)."""
    from rebates.exports.accrual_sheet import row_batches, sheet_queryset

    return [row for batch in row_batches(sheet_queryset(user=user, filters={})) for row in batch]


def bare_xlsxwriter(rows, path):
    import xlsxwriter

    workbook = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = workbook.add_worksheet("Accruals")
    write_row = sheet.write_row
    for number, row in enumerate(rows):
        write_row(number, 0, row)
    workbook.close()


def bare_openpyxl(rows, path):
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Accruals")
    append = sheet.append
    for row in rows:
        append(row)
    workbook.save(path)


def backend_cpu_seconds(pid):
    """CPU seconds the database backend process `pid` has used (it runs on this machine, on loopback)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    django.setup()
    from django.contrib.auth import get_user_model

    variant = sys.argv[1]
    user = get_user_model().objects.get(username="bench.finance")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "accruals.xlsx")
        if variant == "export":
            from django.db import connection

            from rebates.services.exports import export_job_run, export_job_start

            job = export_job_start(user=user, format="xlsx", queue=False)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backend = cursor.fetchone()[0]
            database_before = backend_cpu_seconds(backend)
            began, cpu_began = time.perf_counter(), time.process_time()
            job = export_job_run(job_id=job.pk)
            seconds = time.perf_counter() - began
            cpu = time.process_time() - cpu_began + backend_cpu_seconds(backend) - database_before
            rows, size = job.rows_done, job.file.size
            job.file.delete(save=False)
        else:
            rows_list = rows_in_memory(user)
            began, cpu_began = time.perf_counter(), time.process_time()
            (bare_xlsxwriter if variant == "xlsxwriter" else bare_openpyxl)(rows_list, path)
            seconds = time.perf_counter() - began
            cpu = time.process_time() - cpu_began
            rows, size = len(rows_list), os.path.getsize(path)
    print(json.dumps({"variant": variant, "seconds": seconds, "cpu": cpu, "rows": rows, "bytes": size,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
