"""One write of the finance accrual sheet in a process of its own; prints seconds, rows and peak memory as
JSON (used by excel_export.py).

python benchmarks/_excel_export_once.py export      # the product's background export: query, sheets, storage
python benchmarks/_excel_export_once.py xlsxwriter  # floor: bare XlsxWriter, typed writers, rows in memory
"""

import json
import os
import resource
import sys
import tempfile
import time

import django


def rows_in_memory(user):
    """The sheet's rows exactly as the export hands them to the writer (the month as Excel's serial), each with
    its accrued and unpaid figures in the reporting currency already converted (or the missing rate's reason),
    as the export works them out row by row: the floor only writes."""
    from rebates.currencies import missing_rate_reason
    from rebates.exports.accrual_sheet import row_batches, sheet_queryset
    from rebates.reporting import RateBook

    rows = [row for batch in row_batches(sheet_queryset(user=user, filters={})) for row in batch]
    book = RateBook(sorted({row[12] for row in rows}))

    def converted(amount, currency, month):
        figure = book.convert(amount, currency, month)
        return missing_rate_reason(currency, book.currency, month) if figure is None else figure

    return book.currency, [(*row[:13], converted(row[8], row[12], row[13]), converted(row[11], row[12], row[13]))
                           for row in rows]


def bare_xlsxwriter(reporting, rows, path):
    """The floor: bare XlsxWriter (constant_memory) writing the sheet's rows with the typed writers the export
    uses (`_write_string` for texts, `_write_number` for the month's serial and the figures, each with its
    column's format, the amounts in their row's currency's format; units whole or with places as the export
    picks; the currency, and the accrued and unpaid figures in the reporting currency or the missing rate's
    reason), under the same header, formats, autofilter and SUBTOTAL totals row (its cached figures left at 0:
    the export's come from its summary query, which the floor does not make)."""
    import xlsxwriter

    from rebates.exports.accrual_sheet import ACCRUAL_COLUMNS, reporting_columns
    from rebates.exports.cells import (
        FRACTION_QUANTITY_FORMAT,
        MONTH_FORMAT,
        QUANTITY_FORMAT,
        Column,
        money_format,
    )

    columns = (*ACCRUAL_COLUMNS, Column("Currency", width=10), *reporting_columns(reporting))
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True})
    sheet = workbook.add_worksheet("Accruals")
    header = workbook.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
    moneys = {currency: workbook.add_format({"num_format": money_format(currency)})
              for currency in {row[12] for row in rows} | {reporting}}
    formats = {"text": None, "month": workbook.add_format({"num_format": MONTH_FORMAT, "align": "left"}),
               "quantity": workbook.add_format({"num_format": QUANTITY_FORMAT}),
               "quantity_fraction": workbook.add_format({"num_format": FRACTION_QUANTITY_FORMAT}),
               "money": moneys[reporting], "reporting": moneys[reporting]}
    for col, column in enumerate(columns):
        sheet.set_column(col, col, column.width, formats[column.kind])
        sheet.write_string(0, col, column.header, header)
    sheet.freeze_panes(1, 0)
    text, number = sheet._write_string, sheet._write_number
    month, quantity, in_reporting = formats["month"], formats["quantity"], formats["reporting"]
    fraction = formats["quantity_fraction"]
    row = 0
    for row, (agreement, code, name, manager, program, serial, units, eligible, accrued, paid, forfeited,
              unpaid, currency, accrued_in, unpaid_in) in enumerate(rows, start=1):
        money = moneys[currency]
        text(row, 0, agreement)
        text(row, 1, code)
        text(row, 2, name)
        text(row, 3, manager)
        text(row, 4, program)
        number(row, 5, serial, month)
        number(row, 6, units, quantity if units == units.to_integral_value() else fraction)
        number(row, 7, eligible, money)
        number(row, 8, accrued, money)
        number(row, 9, paid, money)
        number(row, 10, forfeited, money)
        number(row, 11, unpaid, money)
        text(row, 12, currency)
        for col, figure in ((13, accrued_in), (14, unpaid_in)):
            if isinstance(figure, str):
                text(row, col, figure)
            else:
                number(row, col, figure, in_reporting)
    sheet.autofilter(0, 0, row, len(columns) - 1)
    total = workbook.add_format({"bold": True, "top": 1})
    sheet.write_string(row + 1, 0, f"Total ({row} rows)", total)
    for col in (*range(6, 12), 13, 14):
        letter = "ABCDEFGHIJKLMNO"[col]
        sheet.write_formula(row + 1, col, f"=SUBTOTAL(109,{letter}2:{letter}{row + 1})", total, 0)
    workbook.close()


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
    if variant not in ("export", "xlsxwriter"):
        sys.exit(f"unknown variant {variant!r}: export or xlsxwriter")
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
            reporting, rows_list = rows_in_memory(user)
            began, cpu_began = time.perf_counter(), time.process_time()
            bare_xlsxwriter(reporting, rows_list, path)
            seconds = time.perf_counter() - began
            cpu = time.process_time() - cpu_began
            rows, size = len(rows_list), os.path.getsize(path)
    print(json.dumps({"variant": variant, "seconds": seconds, "cpu": cpu, "rows": rows, "bytes": size,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


if __name__ == "__main__":
    main()
