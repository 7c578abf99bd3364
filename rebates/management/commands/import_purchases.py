"""manage.py import_purchases FILE [--user NAME] [--dry-run]: purchase lines from an .xlsx or .csv file, checked
whole (every bad row and column named, nothing stored), then upserted by erp_line_id; progress on a terminal."""

import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from rebates.services.imports import purchase_file_check, purchase_import_file


class Command(BaseCommand):
    help = ("Import purchase lines from an .xlsx or .csv file (the template's columns: erp_line_id, customer, "
            "product, month, quantity, unit_price, amount). One bad line rejects the file; nothing is stored.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="The .xlsx or .csv file.")
        parser.add_argument("--user", help="Record the import as this user (default: the system).")
        parser.add_argument("--dry-run", action="store_true",
                            help="Check the file and count what an import would do; store nothing.")

    def handle(self, *args, file, user, dry_run, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        importer = None
        if user:
            importer = get_user_model().objects.filter(username=user, is_active=True).first()
            if importer is None:
                raise CommandError(f"No active user {user!r}.")
        progress = self._progress_bar if sys.stdout.isatty() else None
        with open(path, "rb") as upload:
            if dry_run:
                check = purchase_file_check(stream=upload, name=path.name, progress=progress)
                errors, lines, where = check.errors, check.lines, ""
                counts = check.result and (check.result.created, check.result.updated, check.result.unchanged,
                                           check.result.unmatched)
            else:
                batch = purchase_import_file(user=importer, upload=upload, name=path.name, commit=True,
                                             progress=progress).batch
                errors, lines, where = batch.errors, batch.line_count, f" (import batch {batch.pk})"
                counts = (batch.created_count, batch.updated_count, batch.unchanged_count, batch.unmatched_count)
        if progress:
            self.stdout.write("")
        if errors:
            for error in errors:
                self.stderr.write(error["message"] if error["field"] != "file" else f"File: {error['message']}")
            raise CommandError(f"{path.name} rejected: {len(errors)} problem(s); nothing was stored{where}.")
        created, updated, unchanged, unmatched = counts
        would = "would be " if dry_run else ""
        self.stdout.write(f"{path.name}: {lines:,} lines; {created:,} {would}created, {updated:,} {would}updated, "
                          f"{unchanged:,} unchanged, {unmatched:,} matching no agreement (kept){where}.")
        if dry_run:
            self.stdout.write("Dry run: nothing was stored.")

    def _progress_bar(self, done, total, width=40):
        filled = width * done // max(total, 1)
        self.stdout.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * done // max(total, 1)}%", ending="")
        self.stdout.flush()
