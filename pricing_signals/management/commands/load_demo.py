"""Load the demo data and print the demo logins; safe to run again (a second run changes nothing)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from pricing_signals.demo import load_demo
from rebates.engine.words import money_in_currencies


class Command(BaseCommand):
    help = "Load the demo data (users, customers, agreements, a year of purchases, price claims) and print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Print only the demo logins and the ERP token.")
        parser.add_argument(
            "--allow-production", action="store_true", help="Load demo users with known passwords in production."
        )

    def handle(self, *args, quiet=False, allow_production=False, **options):
        # Demo users have published passwords: never create them in production by accident.
        if settings.SETTINGS_MODULE.endswith(".production") and not allow_production:
            raise CommandError("Refusing to load demo users with known passwords in production settings.")
        demo = load_demo()
        self.stdout.write(f"{'Login':<10} {'Role':<17} Password")
        for username, role, password in demo.logins:
            self.stdout.write(f"{username:<10} {role:<17} {password}")
        self.stdout.write(f"\nERP API token (user erp): {demo.erp_token}")
        self.stdout.write(f"  Authorization: Token {demo.erp_token}")
        # Each currency's figure in its own sign ("€1,234.50 · $2,345.00"), never added together.
        self.stdout.write(f"\nAccrued as of {demo.as_of:%Y-%m-%d}: {money_in_currencies(demo.accrued)} earned, "
                          f"{money_in_currencies(demo.unpaid)} unpaid.")
        if quiet:
            return
        self.stdout.write(f"\n{'Table':<34} {'rows':>6} {'new':>6}")
        for label, count in demo.counts.items():
            self.stdout.write(f"{label:<34} {count:>6} {demo.created[label]:>6}")
        self.stdout.write(self.style.SUCCESS(f"\nDemo data loaded: {sum(demo.created.values())} new rows."))
