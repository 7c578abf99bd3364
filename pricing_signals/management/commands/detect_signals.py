"""manage.py detect_signals [--as-of YYYY-MM-DD] [--product SKU ...] [--workers N] [--queue | --rebuild-indexes]:
re-check price claims.

--rebuild-indexes is the operator's step for the first detection after a bulk import of claims: when the
detection changes at least half of the claims, the claim table's indexes and signal key are rebuilt after
the write instead of maintained row by row (the table is locked meanwhile). Nothing else does that: the
nightly sweep, the claim checks and this command without the option never change the schema.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from config import clock
from pricing_signals.services import signals_detect
from pricing_signals.services.sweep import signals_detect_rebuilding_indexes
from rebates.models import Product


def _as_of(value):
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"--as-of must be a date as YYYY-MM-DD, got {value!r}") from error


class Command(BaseCommand):
    help = ("Detect market signals: recompute every price claim's status (corroborated, pending, "
            "unsubstantiated) and the signals they form. Safe to run again or while another run goes on.")

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=_as_of, default=None,
                            help="Claims still inside their window on this date are pending (default today).")
        parser.add_argument("--product", action="append", default=[], metavar="SKU",
                            help="Only this product's claims (repeat for more).")
        parser.add_argument("--queue", action="store_true", help="Queue the nightly sweep for the workers and return.")
        parser.add_argument("--workers", type=int, default=1,
                            help="Detect products side by side in this many processes (default 1).")
        parser.add_argument("--rebuild-indexes", action="store_true",
                            help="The first detection after a bulk import of claims: when most claims change, drop "
                                 "the claim table's indexes and signal key for the write and rebuild them after "
                                 "(locks the claims table meanwhile; not for the nightly sweep).")

    def handle(self, *args, as_of, product, queue, workers, rebuild_indexes, **options):
        if workers < 1:
            raise CommandError(f"--workers must be at least 1, got {workers}")
        if queue and rebuild_indexes:
            raise CommandError("--rebuild-indexes runs here, not in the workers: leave out --queue")
        if queue:
            from pricing_signals.tasks import nightly_signal_sweep

            nightly_signal_sweep.delay()
            self.stdout.write("Signal sweep queued for the workers.")
            return
        products = None
        if product:
            found = dict(Product.objects.filter(sku__in=product).values_list("sku", "pk"))
            unknown = sorted(set(product) - set(found))
            if unknown:
                raise CommandError(f"No product with SKU {', '.join(unknown)}.")
            products = list(found.values())
        as_of = as_of or clock.today()
        began = clock.seconds()
        detect = signals_detect_rebuilding_indexes if rebuild_indexes else signals_detect
        result = detect(as_of=as_of, products=products, workers=workers)
        self.stdout.write(f"Market signals as of {as_of}: {result} ({clock.seconds() - began:.1f} s).")
