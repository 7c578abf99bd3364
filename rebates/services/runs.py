"""An accrual run performed here, in this process (the `accrue` command, the demo loader, tests), and then the
settlement periods it lets close: the one place that calls both the accrual and the settlement services, so
neither imports the other."""

from rebates.models import AccrualRun
from rebates.services.accrual import accrual_chunk_book, accrual_run_fail, accrual_run_prepare
from rebates.services.outlook import agreement_forecasts_record
from rebates.services.settlement import settlements_close_due


def accrual_run_perform(*, run_id: int, progress=None, close_settlements: bool = True, workers: int = 1,
                        outlook: bool = True):
    """Prepare and book a run here, chunk after chunk (the management command and tests do this), then
    close the settlement periods that have ended and store the run's outlook (`outlook`), as the workers
    do after a run.

    With `workers` > 1 the chunks are booked by that many processes at once, as that many Celery workers
    would book them.
    """
    chunk_ids = accrual_run_prepare(run_id=run_id)
    try:
        if workers > 1 and len(chunk_ids) > 1:
            _book_in_processes(chunk_ids, workers, progress)
        else:
            for done, chunk_id in enumerate(chunk_ids, start=1):
                accrual_chunk_book(chunk_id=chunk_id)
                if progress is not None:
                    progress(done, len(chunk_ids))
    except Exception as error:
        # The chunks booked so far stay whole; the run must not stay "running" until it goes stale.
        accrual_run_fail(run_id=run_id, error=f"{type(error).__name__}: {error}")
        raise
    run = AccrualRun.objects.get(pk=run_id)
    if close_settlements and run.status == AccrualRun.Status.SUCCEEDED:
        settlements_close_due(as_of=run.as_of)
    if outlook and run.status == AccrualRun.Status.SUCCEEDED:
        agreement_forecasts_record(run_id=run_id)
    return run


def _book_chunk_in_child(chunk_id: int) -> int:
    return accrual_chunk_book(chunk_id=chunk_id).entries


def _book_in_processes(chunk_ids, workers, progress):
    import multiprocessing

    from django.db import connections

    # Each process opens its own connection; none may inherit this one.
    connections.close_all()
    with multiprocessing.get_context("fork").Pool(workers, initializer=connections.close_all) as pool:
        for done, _ in enumerate(pool.imap_unordered(_book_chunk_in_child, chunk_ids), start=1):
            if progress is not None:
                progress(done, len(chunk_ids))
