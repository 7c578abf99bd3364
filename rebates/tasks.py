"""Celery tasks: each takes ids, calls one service and is safe to run twice or to be killed midway.

A run's first task prepares it and fans its chunks out to every worker; each chunk is one transaction.
"""

from datetime import date

from celery import shared_task

from config import clock


@shared_task(name="rebates.tasks.nightly_accrual_run")
def nightly_accrual_run():
    """The beat entry: start tonight's incremental run as of today."""
    from rebates.models import AccrualRun
    from rebates.services import accrual_run_start

    run = accrual_run_start(as_of=clock.today(), trigger=AccrualRun.Trigger.SCHEDULE)
    return run.pk


@shared_task(name="rebates.tasks.nightly_program_enrollment")
def nightly_program_enrollment():
    """The beat entry, an hour before the accrual run: enroll each segment-wide program's joiners and end its
    leavers' agreements as of today, a program per transaction (run again, it finds nothing left to do)."""
    from rebates.models import RebateProgram
    from rebates.services.enrollment import program_enroll

    today = clock.today()
    changed = 0
    for program in RebateProgram.objects.filter(template__isnull=False).order_by("pk"):
        done = program_enroll(program=program, as_of=today, by=None)
        changed += len(done.enrolled) + len(done.ended) + len(done.withdrawn)
    return changed


@shared_task(name="rebates.tasks.nightly_accrual_check")
def nightly_accrual_check():
    """The beat entry: recompute a random sample of agreements in full (nothing booked) and record any
    difference from the ledger as an alert."""
    from rebates.services import accrual_check_sample

    check = accrual_check_sample()
    return None if check is None else check.pk


@shared_task(name="rebates.tasks.accrual_run_execute")
def accrual_run_execute(run_id):
    """Prepare the run (or find its unfinished chunks when delivered again) and queue every chunk."""
    from rebates.services import accrual_run_prepare

    chunk_ids = accrual_run_prepare(run_id=run_id)
    for chunk_id in chunk_ids:
        accrual_chunk_book.delay(chunk_id, run_id)
    return len(chunk_ids)


@shared_task(name="rebates.tasks.accrual_chunk_book")
def accrual_chunk_book(chunk_id, run_id):
    """Book one chunk; an error fails the run (the chunk's own transaction has rolled back)."""
    from rebates.services import accrual_chunk_book as book
    from rebates.services import accrual_run_fail

    try:
        result = book(chunk_id=chunk_id)
    except Exception as error:
        accrual_run_fail(run_id=run_id, error=f"chunk {chunk_id}: {type(error).__name__}: {error}")
        raise
    return result.entries


@shared_task(name="rebates.tasks.settlements_close_due")
def settlements_close_due(as_of):
    """After a successful run: draft settlements for every period that has ended."""
    from rebates.services import settlements_close_due as close_due

    return len(close_due(as_of=date.fromisoformat(as_of)))


@shared_task(name="rebates.tasks.agreement_forecasts_record")
def agreement_forecasts_record(run_id):
    """After a successful run: queue a task for each chunk of the run's outlook (every agreement's next tier
    and period-end forecast) not stored yet; a second delivery queues only what is still missing."""
    from rebates.services.outlook import agreement_forecast_chunks

    chunks = agreement_forecast_chunks(run_id=run_id)
    for first, last in chunks:
        agreement_forecasts_chunk.delay(run_id, first, last)
    return len(chunks)


@shared_task(name="rebates.tasks.agreement_forecasts_chunk")
def agreement_forecasts_chunk(run_id, first, last):
    """Store the outlook of one chunk of the run's agreements (pks `first` to `last`), all or nothing, once."""
    from rebates.services.outlook import agreement_forecasts_chunk_record

    return agreement_forecasts_chunk_record(run_id=run_id, first=first, last=last)


@shared_task(name="rebates.tasks.export_job_execute")
def export_job_execute(job_id):
    """Make a background export's file (a finished job is left alone; a redelivered one is made again)."""
    from rebates.services.exports import export_job_run

    return export_job_run(job_id=job_id).status


@shared_task(name="rebates.tasks.purchase_import_preview_task")
def purchase_import_preview_task(batch_id):
    """Read, check and count an uploaded purchase file; nothing is stored."""
    from rebates.services.imports import purchase_import_preview

    return purchase_import_preview(batch_id=batch_id).batch.status


@shared_task(name="rebates.tasks.purchase_import_commit_task")
def purchase_import_commit_task(batch_id, user_id=None):
    """Store an uploaded purchase file's lines (a stored or rejected batch is left alone)."""
    from django.contrib.auth import get_user_model

    from rebates.services.imports import purchase_import_commit

    user = get_user_model().objects.filter(pk=user_id).first() if user_id else None
    return purchase_import_commit(batch_id=batch_id, user=user).batch.status
