"""Generate large synthetic data (customers, agreements, products, purchases) for benchmarks and load tests."""

from django.core.management.base import BaseCommand, CommandError

from rebates.synthetic import SyntheticDataError, generate_synthetic, parse_month


def month(value):
    try:
        return parse_month(value)
    except SyntheticDataError as error:
        raise ValueError(str(error)) from None


month.__name__ = "YYYY-MM month"  # argparse names the expected type after it in its error


class Command(BaseCommand):
    help = ("Generate synthetic data for benchmarks and load tests: codes start with BK-, the same --seed "
            "gives the same data. Refuses when synthetic data exists, unless --replace.")

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=10_000, help="Customers (default 10,000).")
        parser.add_argument("--agreements", type=int, default=20_000, help="Agreements (default 20,000).")
        parser.add_argument("--products", type=int, default=500, help="Products (default 500).")
        parser.add_argument("--months", type=int, default=24, help="Months of purchases (default 24).")
        parser.add_argument("--lines", type=int, default=1_000_000, help="Purchase lines (default 1,000,000).")
        parser.add_argument("--managers", type=int, default=20, help="Account managers (default 20).")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (default 2026).")
        parser.add_argument("--start", type=month, default="2025-01", help="First month, YYYY-MM (default 2025-01).")
        parser.add_argument("--replace", action="store_true", help="Delete the previous synthetic data first.")

    def handle(self, *args, **options):
        try:
            summary = generate_synthetic(
                customers=options["customers"], agreements=options["agreements"], products=options["products"],
                months=options["months"], lines=options["lines"], seed=options["seed"], start=options["start"],
                managers=options["managers"], replace=options["replace"],
                stdout=self.stdout if options["verbosity"] >= 1 else None,
            )
        except SyntheticDataError as error:
            raise CommandError(str(error)) from error
        if options["verbosity"] >= 1:
            self.stdout.write(f"\n{'Table':<22} {'rows':>12}")
            for name, count in summary.counts().items():
                self.stdout.write(f"{name.replace('_', ' '):<22} {count:>12,}")
            self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(str(summary)))
