"""manage.py export_accruals --user NAME [filters] [--output FILE]: the finance accrual sheet (or the liability
report) written here, with progress on a terminal; or --queue to hand it to the workers as an ExportJob."""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from config import clock
from rebates.exports import ExportError, accrual_filters
from rebates.exports.accrual_export import FORMATS, REPORTS, file_name, report_for, write_export
from rebates.services.exports import export_job_start


class Command(BaseCommand):
    help = ("Export the finance accrual sheet (.xlsx, with the liability sheet) or, as CSV, the accrual rows or the "
            "liability report. The rows are those the --user may see.")

    def add_arguments(self, parser):
        parser.add_argument("--user", required=True, help="Export as this user: their customers only, unless "
                                                          "their role sees every customer.")
        parser.add_argument("--output", "-o", help="File to write (default: a dated name in this folder).")
        parser.add_argument("--format", choices=FORMATS, help="xlsx or csv (default: from --output, else xlsx).")
        parser.add_argument("--report", choices=REPORTS, default="accruals",
                            help="accruals (default) or liability (as CSV; the .xlsx holds both).")
        parser.add_argument("--customer", help="A customer's ERP code.")
        parser.add_argument("--manager", help="An account manager's username.")
        parser.add_argument("--program", help="A program's id or code.")
        parser.add_argument("--agreement", help="An agreement number.")
        parser.add_argument("--from", dest="month_from", help="First month, YYYY-MM.")
        parser.add_argument("--to", dest="month_to", help="Last month, YYYY-MM.")
        parser.add_argument("--queue", action="store_true", help="Start a background export for the workers.")

    def handle(self, *args, user, output, format, report, queue, **options):
        exporter = get_user_model().objects.filter(username=user, is_active=True).first()
        if exporter is None:
            raise CommandError(f"No active user {user!r}.")
        if not exporter.has_perm("rebates.export_accruals"):
            self.stderr.write(f"Note: {user} has no export permission in the app; the file holds only what "
                              f"{user} may see.")
        format = format or (Path(output).suffix.lstrip(".").lower() if output else "xlsx")
        raw = {key: options[key] for key in ("customer", "manager", "program", "agreement", "month_from", "month_to")}
        try:
            report = report_for(format, report)
            filters = accrual_filters(raw)
        except ExportError as error:
            raise CommandError(str(error)) from error
        if queue:
            job = export_job_start(user=exporter, format=format, filters={**raw, "report": report})
            self.stdout.write(f"Export {job.pk} queued for the workers; its file appears on the job when done.")
            return
        path = Path(output or file_name(report, format, filters, clock.today()))
        progress = self._progress_bar if sys.stdout.isatty() else None
        with open(path, "wb") as target:
            rows = write_export(target, user=exporter, filters=filters, format=format, report=report,
                                progress=progress,
                                about=(("Report", "Finance accrual sheet and liability"), ("Exported by", user),
                                       ("Exported at", f"{clock.local():%Y-%m-%d %H:%M}")))
        if progress:
            self.stdout.write("")
        self.stdout.write(f"Wrote {path} ({rows:,} agreement months, {path.stat().st_size:,} bytes).")

    def _progress_bar(self, done, total, width=40):
        filled = width * done // max(total, 1)
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} rows", ending="")
        self.stdout.flush()
