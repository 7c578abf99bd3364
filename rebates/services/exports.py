"""Exports as use cases: small ones answer at once with the file, large ones run in the background as an
ExportJob whose progress the page and the API poll and whose file is kept in Django's storage. What is
written (filters, formats, rows) is rebates.exports'.
"""

import io
import logging
import tempfile

from django.core.files import File
from django.db import transaction

from config import clock
from config.celery_app import queue_on_commit
from customers.services import audit_record
from rebates.exports.accrual_export import (
    CONTENT_TYPES,
    ExportError,
    ExportFile,
    accrual_filters,
    file_name,
    filters_json,
    inline_rows,
    report_for,
    sheet_about,
    write_export,
)
from rebates.exports.accrual_sheet import sheet_row_count
from rebates.exports.filters import check_filter_codes
from rebates.models import ExportJob
from rebates.sql.exports import job_progress_writer

logger = logging.getLogger(__name__)


def accruals_export(*, user, filters=None, format="xlsx", report="accruals"):
    """The finance accrual sheet (or, as CSV, the liability report) with the accruals filters, for `user`.

    Returns an ExportFile when it holds at most `inline_rows()` rows, otherwise a queued ExportJob (its
    progress and file come later). The caller checks that the user may export (rebates.export_accruals).
    Raises ExportError for a bad filter, format or report (ExportFilterError, naming the filter, for a code
    that names nothing the user may see: never an empty sheet).
    """
    report = report_for(format, report)
    selected = accrual_filters(filters)
    check_filter_codes(user, selected)
    limit = inline_rows()
    rows = sheet_row_count(user=user, filters=selected, limit=limit + 1)
    if rows > limit:
        return export_job_start(user=user, format=format, filters=filters_json(selected, report))
    buffer = io.BytesIO()
    now = clock.now()
    write_export(buffer, user=user, filters=selected, format=format, report=report,
                 about=sheet_about(user, selected, report, now))
    return ExportFile(name=file_name(report, format, selected, clock.local(now).date()),
                      content_type=CONTENT_TYPES[format], content=buffer.getvalue())


def export_job_start(*, user, format="xlsx", filters=None, kind=ExportJob.Kind.ACCRUAL_SHEET, queue=True):
    """Record a background export of the accrual sheet and queue it once this transaction commits."""
    if kind != ExportJob.Kind.ACCRUAL_SHEET:
        raise ExportError("Only the finance accrual sheet is exported in the background; an agreement's sheet "
                          "is made at once.")
    filters = dict(filters or {})
    report = report_for(format, filters.get("report", "accruals"))
    stored = filters_json(accrual_filters(filters), report)
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
                                about=sheet_about(job.requested_by, filters, report, job.created_at))
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
