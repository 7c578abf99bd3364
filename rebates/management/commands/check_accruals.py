"""manage.py check_accruals [--sample 200] [--seed N]: recompute a random sample of agreements in full,
book nothing, and report every month where the ledger differs (as the nightly check does)."""

from django.core.management.base import BaseCommand, CommandError

from rebates.models import AccrualCheck
from rebates.services import accrual_check_sample


class Command(BaseCommand):
    help = "Check the ledger: recompute a random sample of agreements in full (nothing booked) and report differences."

    def add_arguments(self, parser):
        parser.add_argument("--sample", type=int, default=None,
                            help="Agreements to recompute (default ACCRUAL_CHECK_SAMPLE).")
        parser.add_argument("--seed", type=int, default=None, help="Pick the same sample again.")

    def handle(self, *args, sample, seed, **options):
        if sample is not None and sample < 1:
            raise CommandError(f"--sample must be at least 1, got {sample}")
        check = accrual_check_sample(sample_size=sample, seed=seed)
        if check is None:
            self.stdout.write("Nothing checked: no accrual run has succeeded yet, or a run is going on.")
            return
        self.stdout.write(f"Accrual check {check.pk} as of {check.as_of}: {check.agreements_checked} agreements "
                          f"recomputed, {check.agreements_pending} with changes waiting for the next run left out.")
        if check.status == AccrualCheck.Status.DIFFERENCES:
            for difference in check.differences:
                self.stdout.write(f"  {difference['agreement']} {difference['month']}: a full recompute would "
                                  f"book {difference['amount']} ({difference['quantity']} units)")
            count = check.differences_count
            raise CommandError(f"{count} agreement month{'s differ' if count != 1 else ' differs'} from a full "
                               f"recompute; `manage.py accrue --full` books the difference.")
        self.stdout.write("The ledger agrees with a full recompute to the cent.")
