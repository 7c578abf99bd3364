"""Exports as a use case: small ones answer at once with the file, large ones run in the background as an
ExportJob whose progress the page and the API poll and whose file is kept in Django's storage.

Every export reads its rows for the user who asked (`visible_to`), in the background too: an account
manager's export holds only their own customers.
"""

import io
import logging
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.files import File
from django.db import transaction

from config import clock
from config.celery_app import queue_on_commit
from customers.services import audit_record
from rebates.engine.periods import month_of
from rebates.exports.accrual_sheet import (
    sheet_row_count,
    write_accrual_csv,
    write_accrual_xlsx,
    write_liability_csv,
)
from rebates.exports.cells import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE
from rebates.models import ExportJob
from rebates.sql.exports import job_progress_writer

logger = logging.getLogger(__name__)

FILTER_KEYS = ("customer", "manager", "program", "agreement", "month_from", "month_to")
REPORTS = ("accruals", "liability")
FORMATS = tuple(ExportJob.Format.values)
CONTENT_TYPES = {"xlsx": XLSX_CONTENT_TYPE, "csv": CSV_CONTENT_TYPE}


class ExportError(ValueError):
    """The export cannot be made as asked (a bad filter, format or report); the message says why."""


@dataclass(frozen=True)
class ExportFile:
    """A finished export: what to send back as the download."""

    name: str
    content_type: str
    content: bytes


def inline_rows() -> int:
    """Exports up to this many rows answer at once; larger ones become a background ExportJob."""
    return getattr(settings, "EXCEL_EXPORT_INLINE_ROWS", 5000)


def _month(name, value):
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return month_of(value)
    try:
        year, month = str(value).strip().split("-")[:2]
        return date(int(year), int(month), 1)
    except (TypeError, ValueError):
        raise ExportError(f"{name} must be a month written YYYY-MM, got {value!r}.") from None


def accrual_filters(raw: Mapping | None) -> dict:
    """The accruals filters as the selector takes them: customer code, manager username, program id or
    code, agreement number, month_from / month_to as YYYY-MM (or dates). Empty values are dropped."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - set(FILTER_KEYS) - {"report"})
    if unknown:
        raise ExportError(f"Unknown filter {', '.join(unknown)}; the filters are {', '.join(FILTER_KEYS)}.")
    filters = {}
    for key in ("customer", "manager", "program", "agreement"):
        value = raw.get(key)
        if value not in (None, ""):
            filters[key] = str(value)
    for key in ("month_from", "month_to"):
        month = _month(key, raw.get(key))
        if month is not None:
            filters[key] = month
    if "month_from" in filters and "month_to" in filters and filters["month_from"] > filters["month_to"]:
        raise ExportError("month_from is after month_to.")
    return filters


def _filters_json(filters: dict, report: str) -> dict:
    stored = {key: (f"{value:%Y-%m}" if isinstance(value, date) else value) for key, value in filters.items()}
    stored["report"] = report
    return stored


def report_for(format, report):
    """The report to write for this format (CSV is one report a file; the .xlsx holds both), or
    ExportError for an unknown format or report."""
    if format not in FORMATS:
        raise ExportError(f"format must be one of {', '.join(FORMATS)}, got {format!r}.")
    if report not in REPORTS:
        raise ExportError(f"report must be one of {', '.join(REPORTS)}, got {report!r}.")
    if report == "liability" and format == "xlsx":
        # The .xlsx accrual sheet holds the liability on its second sheet.
        return "accruals"
    return report


def file_name(report, format, filters: dict, stamp: date) -> str:
    parts = [report, *(str(filters[key]) for key in ("customer", "manager", "agreement") if key in filters),
             f"{stamp:%Y-%m-%d}"]
    safe = "-".join("".join(ch if ch.isalnum() or ch in "._" else "_" for ch in part) for part in parts)
    return f"{safe}.{format}"


def write_export(target, *, user, filters: dict, format: str, report: str, progress=None, about=()) -> int:
    """Write the report's rows for `user` to `target` (a binary file); returns the rows it holds."""
    if format == "xlsx":
        return write_accrual_xlsx(target, user=user, filters=filters, about=about, progress=progress)
    if report == "liability":
        return write_liability_csv(target, user=user, filters=filters, progress=progress)
    return write_accrual_csv(target, user=user, filters=filters, progress=progress)


def _about(user, filters, report, when):
    shown = ", ".join(f"{key} {value:%Y-%m}" if isinstance(value, date) else f"{key} {value}"
                      for key, value in filters.items()) or "none (every agreement the user may see)"
    return (("Report", "Finance accrual sheet and liability"), ("Exported by", user.get_username()),
            ("Exported at", f"{clock.local(when):%Y-%m-%d %H:%M}"), ("Filters", shown))


def accruals_export(*, user, filters=None, format="xlsx", report="accruals"):
    """The finance accrual sheet (or, as CSV, the liability report) with the accruals filters, for `user`.

    Returns an ExportFile when it holds at most `inline_rows()` rows, otherwise a queued ExportJob (its
    progress and file come later). The caller checks that the user may export (rebates.export_accruals).
    Raises ExportError for a bad filter, format or report.
    """
    report = report_for(format, report)
    selected = accrual_filters(filters)
    limit = inline_rows()
    rows = sheet_row_count(user=user, filters=selected, limit=limit + 1)
    if rows > limit:
        return export_job_start(user=user, format=format, filters=_filters_json(selected, report))
    buffer = io.BytesIO()
    now = clock.now()
    write_export(buffer, user=user, filters=selected, format=format, report=report,
                 about=_about(user, selected, report, now))
    return ExportFile(name=file_name(report, format, selected, clock.local(now).date()),
                      content_type=CONTENT_TYPES[format], content=buffer.getvalue())


def export_job_start(*, user, format="xlsx", filters=None, kind=ExportJob.Kind.ACCRUAL_SHEET, queue=True):
    """Record a background export of the accrual sheet and queue it once this transaction commits."""
    if kind != ExportJob.Kind.ACCRUAL_SHEET:
        raise ExportError("Only the finance accrual sheet is exported in the background; an agreement's sheet "
                          "is made at once.")
    filters = dict(filters or {})
    report = report_for(format, filters.get("report", "accruals"))
    stored = _filters_json(accrual_filters(filters), report)
    with transaction.atomic():
        job = ExportJob.objects.create(kind=kind, format=format, requested_by=user, filters=stored)
        audit_record(actor=user, action="export_job.start", target=job,
                     summary=f"Export {job.pk} of the {report} ({format}) queued", data=stored)
        if queue:
            from rebates.tasks import export_job_execute

            queue_on_commit(export_job_execute, job.pk)
    return job


def export_job_run(*, job_id: int, progress=None) -> ExportJob:
    """Make the job's file: read the rows for the user who asked, write them, keep the file in storage.

    Safe to run twice: a finished job is left alone; a job found running (its worker died, the message came
    back) is made again from the start, since its file is stored only once complete. `progress(done, total)`
    is called as rows are written, besides the job's own progress figure.
    """
    with transaction.atomic():
        job = ExportJob.objects.select_for_update().select_related("requested_by").get(pk=job_id)
        if job.status in (ExportJob.Status.DONE, ExportJob.Status.FAILED):
            return job
        job.status = ExportJob.Status.RUNNING
        job.progress = 0
        job.rows_done = 0
        job.save(update_fields=["status", "progress", "rows_done"])
    try:
        report = report_for(job.format, job.filters.get("report", "accruals"))
        filters = accrual_filters(job.filters)
        last = {"percent": -1}

        def report_progress(done, total):
            # Writing the rows is most of the work; compressing and storing the file is the rest.
            percent = min(95, 95 * done // total) if total else 95
            if percent != last["percent"]:
                last["percent"] = percent
                write_progress(job.pk, done, total, percent)
            if progress is not None:
                progress(done, total)

        with job_progress_writer() as write_progress, tempfile.TemporaryFile(suffix=f".{job.format}") as handle:
            rows = write_export(handle, user=job.requested_by, filters=filters, format=job.format, report=report,
                                progress=report_progress,
                                about=_about(job.requested_by, filters, report, job.created_at))
            handle.seek(0)
            name = file_name(report, job.format, filters, clock.local(job.created_at).date())
            job.file.save(name, File(handle, name=name), save=False)
        job.status = ExportJob.Status.DONE
        job.progress = 100
        job.rows_total = job.rows_done = rows
        job.finished_at = clock.now()
        job.save(update_fields=["file", "status", "progress", "rows_total", "rows_done", "finished_at"])
    except Exception as error:
        logger.exception("export %s failed", job_id)
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.Status.FAILED, finished_at=clock.now(),
                                                    error=f"{type(error).__name__}: {error}"[:2000])
        raise
    return job
