"""The purchase file import as use cases: start (the upload kept), preview (counts, nothing stored), commit
(through the ingest service), each recorded on the ImportBatch with its status, progress and errors.

The file is read once: a clean preview keeps the lines as it checked them beside the batch
(rebates.imports.checked), and the commit stores those, looking up only their codes again.

Reading and parsing the file (the guards, .xlsx and .csv) is rebates.imports'; this module writes.
"""

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.core.files.base import ContentFile, File
from django.db import transaction

from customers.services import audit_record
from rebates.imports.checked import checked_lines_bytes, checked_lines_read
from rebates.imports.common import ImportRefused, PurchaseFile, memory_release
from rebates.imports.reading import purchase_file_read, stored_file_stream
from rebates.models import ImportBatch, PurchaseLine
from rebates.services.import_batches import ImportOutcome, discard_batch_files
from rebates.services.membership_imports import memberships_import_commit, memberships_import_preview
from rebates.services.purchases import CheckedLines, PurchaseLinesInvalid, purchase_lines_ingest
from rebates.sql.imports import batch_import_lock, batch_progress_writer

logger = logging.getLogger(__name__)


def purchase_import_start(*, user, upload, name: str | None = None, queue_preview: bool = False,
                          kind: str = ImportBatch.Kind.PURCHASES) -> ImportBatch:
    """Keep the uploaded file (Django storage) in a pending ImportBatch; queue its preview when asked. `kind`
    says what the file holds: purchase lines, or buying-group memberships (rebates.services.membership_imports,
    previewed and committed through the same steps and tasks)."""
    name = PurePosixPath(name or getattr(upload, "name", "") or "purchases").name
    if isinstance(upload, bytes | bytearray):
        upload = ContentFile(bytes(upload))
    elif not isinstance(upload, File):
        upload = File(upload)
    with transaction.atomic():
        batch = ImportBatch(source=ImportBatch.Source.FILE, kind=kind, file_name=name[:255],
                            created_by=user if getattr(user, "is_authenticated", False) else None)
        batch.file.save(name, upload, save=False)
        batch.save()
        what = "Membership" if kind == ImportBatch.Kind.MEMBERSHIPS else "Purchase"
        audit_record(actor=user, action=f"{what.lower()}_import.start", target=batch,
                     summary=f"{what} file {name} uploaded for import (batch {batch.pk})")
        if queue_preview:
            from config.celery_app import queue_on_commit
            from rebates.tasks import purchase_import_preview_task

            queue_on_commit(purchase_import_preview_task, batch.pk)
    return batch


def purchase_import_preview(*, batch_id: int, progress=None) -> ImportOutcome:
    """Read and validate the batch's file and count what a commit would create, update or leave alone;
    nothing is stored. The batch becomes previewed (with the counts, and the lines as checked kept beside it
    for the commit) or rejected (with every error)."""
    outcome, _ = _preview(batch_id=batch_id, progress=progress)
    return outcome


def _preview(*, batch_id: int, progress) -> tuple[ImportOutcome, tuple[CheckedLines, PurchaseFile] | None]:
    """The preview's outcome, and (when clean) the checked lines with where they are in the file."""
    batch = ImportBatch.objects.get(pk=batch_id)
    if batch.status in (ImportBatch.Status.STORED, ImportBatch.Status.REJECTED, ImportBatch.Status.IMPORTING):
        return ImportOutcome(batch, None), None
    if batch.kind == ImportBatch.Kind.MEMBERSHIPS:
        return memberships_import_preview(batch=batch), None
    report = _progress_writer(batch.pk, progress)
    parsed = _read_batch_file(batch, report, share=(0, 60))
    if parsed is None:
        return ImportOutcome(_refresh(batch), None), None
    line_count = len(parsed.lines)
    try:
        result = purchase_lines_ingest(lines=_handed_over(parsed), source=PurchaseLine.Source.FILE,
                                       validate_only=True, import_batch=batch, progress=_phase(report, 60, 99))
    except PurchaseLinesInvalid as invalid:
        _reject(batch, [parsed.error_at(error) for error in invalid.errors], line_count=line_count)
        return ImportOutcome(_refresh(batch), None), None
    kept = ContentFile(checked_lines_bytes(result.checked, parsed))
    earlier = batch.checked_lines.name  # a batch previewed again keeps only its latest check
    with transaction.atomic():
        batch.checked_lines.save(f"batch-{batch.pk}.csv.gz", kept, save=False)
        open_statuses = (ImportBatch.Status.PENDING, ImportBatch.Status.PREVIEWED)
        previewed = ImportBatch.objects.filter(pk=batch.pk, status__in=open_statuses).update(
            status=ImportBatch.Status.PREVIEWED, progress=100, errors=[], line_count=line_count,
            created_count=result.created, updated_count=result.updated, unchanged_count=result.unchanged,
            unmatched_count=result.unmatched, checked_lines=batch.checked_lines.name)
    if not previewed:  # the batch moved on meanwhile (a commit took it): nothing points at the kept lines
        batch.checked_lines.delete(save=False)
    elif earlier and earlier != batch.checked_lines.name:
        batch.checked_lines.storage.delete(earlier)
    if progress is not None:
        progress(100, 100)
    return ImportOutcome(_refresh(batch), result), (result.checked, parsed)


def purchase_import_commit(*, batch_id: int, user=None, progress=None) -> ImportOutcome:
    """Store the batch's lines, upserted by erp_line_id in one transaction: the lines its preview checked
    (their codes looked up again), or, for a batch not previewed, the file read and validated now.

    Safe to run twice and after a worker died midway: a stored or rejected batch is left alone, and one
    worker at a time imports a batch (the ingest's single transaction stores all or nothing).
    """
    return _commit(batch_id=batch_id, user=user, progress=progress)


def _commit(*, batch_id: int, user, progress, checked: tuple[CheckedLines, PurchaseFile] | None = None
            ) -> ImportOutcome:
    with batch_import_lock(batch_id) as locked:
        batch = ImportBatch.objects.get(pk=batch_id)
        if not locked or batch.status in (ImportBatch.Status.STORED, ImportBatch.Status.REJECTED):
            return ImportOutcome(batch, None)
        if batch.kind == ImportBatch.Kind.MEMBERSHIPS:
            return memberships_import_commit(batch=batch, user=user)
        ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.IMPORTING, progress=0)
        report = _progress_writer(batch.pk, progress)
        memory_release()  # what the preview let go of, when it ran in this process
        if checked is None:
            checked = _kept_lines(batch)
        if checked is not None:
            lines, parsed = checked
            report(10)
        else:
            parsed = _read_batch_file(batch, report, share=(0, 40))
            if parsed is None:
                return ImportOutcome(_refresh(batch), None)
            lines = _handed_over(parsed)
        line_count = len(parsed.rows)
        try:
            with _side_progress(batch.pk, progress) as side_report:
                result = purchase_lines_ingest(lines=lines, source=PurchaseLine.Source.FILE, user=user,
                                               import_batch=batch, progress=_phase(side_report, 40, 99))
        except PurchaseLinesInvalid as invalid:
            _reject(batch, [parsed.error_at(error) for error in invalid.errors], line_count=line_count)
            return ImportOutcome(_refresh(batch), None)
        discard_batch_files(batch)
        if progress is not None:
            progress(100, 100)
        return ImportOutcome(_refresh(batch), result)


def purchase_import_commit_start(*, batch_id: int, user) -> None:
    """Queue the commit of a previewed batch for the workers, once this transaction commits. A previewed batch
    is importing from now on (progress 0), so its page shows the commit under way rather than the checked
    file's button while the commit waits for a worker."""
    from config.celery_app import queue_on_commit
    from rebates.tasks import purchase_import_commit_task

    ImportBatch.objects.filter(pk=batch_id, status=ImportBatch.Status.PREVIEWED).update(
        status=ImportBatch.Status.IMPORTING, progress=0)
    queue_on_commit(purchase_import_commit_task, batch_id, getattr(user, "pk", None))


@dataclass(frozen=True)
class FileCheck:
    """A file checked without keeping it: its line count and what an import would do, or every problem."""

    lines: int
    errors: list[dict]
    result: object | None

    @property
    def ok(self) -> bool:
        return not self.errors


def purchase_file_check(*, stream, name: str, progress=None) -> FileCheck:
    """Read and validate a file and count what importing it would create, update or leave alone, without
    recording an import batch or storing anything (the command's --dry-run)."""
    try:
        parsed = purchase_file_read(stream, name=name, progress=_phase(_percent(progress), 0, 60))
    except ImportRefused as refused:
        return FileCheck(0, [_file_error(refused)], None)
    try:
        result = purchase_lines_ingest(lines=parsed.lines, source=PurchaseLine.Source.FILE, validate_only=True,
                                       progress=_phase(_percent(progress), 60, 100))
    except PurchaseLinesInvalid as invalid:
        return FileCheck(len(parsed.lines), [parsed.error_at(error) for error in invalid.errors], None)
    return FileCheck(len(parsed.lines), [], result)


def _percent(callback):
    return (lambda percent: callback(percent, 100)) if callback is not None else (lambda percent: None)


def _file_error(refused: ImportRefused) -> dict:
    return {"row": None, "column": None, "field": "file", "erp_line_id": None, "message": str(refused)}


def purchase_import_file(*, user, upload, name: str, commit: bool, progress=None) -> ImportOutcome:
    """Start, preview and (when `commit` and the preview is clean) commit a file here, in one go (the
    management command and tests do this; the pages queue the same steps).

    The file is read once: the commit stores the very lines the preview checked (here handed over in
    memory; queued, the commit task reads them from beside the batch)."""
    batch = purchase_import_start(user=user, upload=upload, name=name)
    outcome, checked = _preview(batch_id=batch.pk, progress=progress)
    if commit and outcome.ok:
        outcome = _commit(batch_id=batch.pk, user=user, progress=progress, checked=checked)
    return outcome


def _refresh(batch: ImportBatch) -> ImportBatch:
    batch.refresh_from_db()
    return batch


def _read_batch_file(batch: ImportBatch, report, *, share) -> PurchaseFile | None:
    """The batch's file read with the guards; a refused file rejects the batch (and None is returned)."""
    try:
        with stored_file_stream(batch.file) as stream:
            return purchase_file_read(stream, name=batch.file_name or batch.file.name,
                                      progress=_phase(report, *share))
    except ImportRefused as refused:
        _reject(batch, [_file_error(refused)])
        return None


def _handed_over(parsed: PurchaseFile):
    """The file's lines one at a time, each let go once the ingest has parsed it (the parsed lines replace
    them, so the two are never held whole at once)."""
    lines = parsed.lines
    parsed.lines = []
    for index in range(len(lines)):
        line = lines[index]
        lines[index] = None
        yield line


def _kept_lines(batch: ImportBatch) -> tuple[CheckedLines, PurchaseFile] | None:
    """The lines the batch's preview kept, or None (not previewed, or the kept lines are gone)."""
    if not batch.checked_lines:
        return None
    try:
        with stored_file_stream(batch.checked_lines) as stream:
            return checked_lines_read(stream)
    except OSError:
        logger.warning("could not read the checked lines of import batch %s", batch.pk, exc_info=True)
        return None


def _reject(batch: ImportBatch, errors: list[dict], line_count: int = 0) -> None:
    with transaction.atomic():
        ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.REJECTED, progress=100,
                                                       errors=errors, line_count=line_count)
        audit_record(actor=batch.created_by, action="purchase_import.reject", target=batch,
                     summary=f"Purchase file {batch.file_name} rejected: {len(errors)} problem(s)",
                     data={"problems": len(errors)})
    discard_batch_files(batch)


def _phase(report, low, high):
    """A progress(done, total) that maps onto low..high percent of the whole."""
    def progress(done, total):
        report(low + (high - low) * done // total if total else high)
    return progress


def _progress_writer(batch_id, callback):
    """Writes the batch's percent (at most once per whole percent) and tells `callback` too."""
    last = {"percent": -1}

    def report(percent):
        percent = max(0, min(100, int(percent)))
        if percent != last["percent"]:
            last["percent"] = percent
            ImportBatch.objects.filter(pk=batch_id).update(progress=percent)
            if callback is not None:
                callback(percent, 100)
    return report


@contextmanager
def _side_progress(batch_id, callback):
    """Progress written while the ingest's transaction is open: through a connection of its own, so pollers
    see it before the transaction commits."""
    last = {"percent": -1}
    with batch_progress_writer() as write:

        def report(percent):
            percent = max(0, min(100, int(percent)))
            if percent == last["percent"]:
                return
            last["percent"] = percent
            write(batch_id, percent)
            if callback is not None:
                callback(percent, 100)

        yield report
