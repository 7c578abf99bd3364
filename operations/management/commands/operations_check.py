"""Run the operations checks here, once or every N seconds: without the broker, the only way a broker
outage is noticed (docker-compose's `watch` service runs it every minute)."""

import time

from django.core.management.base import BaseCommand
from django.db import DatabaseError, connection

from operations.services import operations_check


class Command(BaseCommand):
    help = "Raise and clear the operations alerts (once, or every --every seconds)."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=0, help="Repeat every this many seconds (0: once).")

    def handle(self, *args, every, **options):
        while True:
            try:
                open_alerts = operations_check()
                self.stdout.write(" ".join(f"{kind}={count}" for kind, count in open_alerts.items()))
            except DatabaseError as error:  # the database is away: try again at the next turn
                connection.close()
                if not every:
                    raise
                self.stderr.write(f"check not run: {type(error).__name__}")
            if not every:
                return
            time.sleep(every)
