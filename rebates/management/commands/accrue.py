"""manage.py accrue [--as-of YYYY-MM-DD] [--full] [--queue]: run the accrual here, or hand it to the workers."""

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from config import clock
from rebates.models import AccrualRun
from rebates.services import accrual_run_perform, accrual_run_start


def _as_of(value):
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--as-of must be a date as YYYY-MM-DD, got {value!r}") from error


class Command(BaseCommand):
    help = "Accrue rebates: book the difference between what each agreement earned and what the ledger holds."

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=_as_of, default=None, help="Accrue months up to this date (default today).")
        parser.add_argument("--full", action="store_true", help="Recompute every agreement, not only changed ones.")
        parser.add_argument("--queue", action="store_true", help="Queue the run for the Celery workers and return.")
        parser.add_argument("--workers", type=int, default=1,
                            help="Book the chunks in this many processes at once (default 1).")

    def handle(self, *args, as_of, full, queue, workers, **options):
        if workers < 1:
            raise CommandError(f"--workers must be at least 1, got {workers}")
        as_of = as_of or clock.today()
        run = accrual_run_start(as_of=as_of, full=full, trigger=AccrualRun.Trigger.COMMAND, queue=queue)
        if queue:
            self.stdout.write(f"Accrual run {run.pk} as of {as_of} queued for the workers.")
            return
        progress = self._progress_bar if sys.stdout.isatty() else None
        run = accrual_run_perform(run_id=run.pk, progress=progress, workers=workers)
        if progress:
            self.stdout.write("")
        if run.status == AccrualRun.Status.SKIPPED:
            raise CommandError(run.error)
        seconds = (run.finished_at - run.started_at).total_seconds() if run.finished_at and run.started_at else 0
        self.stdout.write(
            f"Accrual run {run.pk} as of {as_of} {run.status}: {run.agreements_count} agreements recomputed, "
            f"{run.entries_count} entries booked, {run.total_amount} in total, {run.chunks_total} chunks, "
            f"{seconds:.1f} s."
        )

    def _progress_bar(self, done, total, width=40):
        filled = width * done // max(total, 1)
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} chunks", ending="")
        self.stdout.flush()
