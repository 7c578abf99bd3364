"""The nightly check of the ledger: a random sample of agreements recomputed in full, nothing booked.

An incremental run recomputes only what was marked as changed; this check recomputes agreements it was not
asked to and compares the engine with the ledger. Any difference (a change no trigger marked, a bug in a
partial recompute) is an alert: a logged error and an `AccrualCheck` record finance sees on the accrual runs
page and in the admin. Agreements with changes still waiting for the next run are left out, since their
ledger is meant to differ until then. Every agreement's kept balance (AgreementBalance, which finance's
liability and the dashboards read) is compared with the sums of its entries too.
"""

import logging
import random
from datetime import date

from django.conf import settings

from rebates.models import AccrualCheck, AccrualRun, RebateAgreement
from rebates.services.accrual import ACCRUING_STATUSES, agreements_pending, ledger_differences
from rebates.sql import accrual as sql
from rebates.terms import agreement_inputs

logger = logging.getLogger(__name__)

# Differences kept on the record; the count says how many there were in all.
DIFFERENCES_KEPT = 500


def accrual_check_sample(*, sample_size: int | None = None, seed: int | None = None) -> AccrualCheck | None:
    """Recompute `sample_size` agreements picked at random (ACCRUAL_CHECK_SAMPLE by default) as of the last
    successful run and record every month where the ledger differs from the engine: what a run would book
    there (quantity, eligible amount, amount). Returns the record, or None when no run has succeeded yet, or
    a run is going on or ran meanwhile (the ledger is being written; the next check sees it whole)."""
    sample_size = settings.ACCRUAL_CHECK_SAMPLE if sample_size is None else sample_size
    if sample_size < 1:
        raise ValueError(f"the sample must hold at least one agreement, not {sample_size}")
    last = AccrualRun.objects.filter(status=AccrualRun.Status.SUCCEEDED).order_by("-finished_at", "-pk").first()
    if last is None or _run_going_on():
        return None
    as_of = last.as_of
    pending = agreements_pending(as_of=as_of)
    candidates = sorted(set(_accruing(as_of).values_list("pk", flat=True)) - pending)
    sample = sorted(random.Random(seed).sample(candidates, min(sample_size, len(candidates))))
    agreements = agreement_inputs(sample)
    found = ledger_differences(agreements, as_of=as_of, run=None)
    # A change committed or a run started while the engine ran is not a fault of the ledger.
    if _run_going_on() or AccrualRun.objects.filter(pk__gt=last.pk, status=AccrualRun.Status.SUCCEEDED).exists():
        return None
    changed_meanwhile = agreements_pending(as_of=as_of) - pending
    found = [booking for booking in found if booking.agreement_id not in changed_meanwhile]
    # The balances finance's figures read must equal the ledger's sums, for every agreement.
    out_of_step = sql.balances_out_of_step()
    numbers = dict(RebateAgreement.objects.filter(
        pk__in={b.agreement_id for b in found} | {row[0] for row in out_of_step}).values_list("pk", "number"))
    differences = [
        {"agreement": numbers[b.agreement_id], "month": f"{b.period:%Y-%m}", "kind": b.kind,
         "quantity": str(b.quantity), "eligible_amount": str(b.eligible_amount), "amount": str(b.amount)}
        for b in sorted(found, key=lambda b: (numbers[b.agreement_id], b.period))
    ] + [
        # What the kept balance would need to agree with its entries.
        {"agreement": numbers[agreement_id], "month": "balance", "kind": "balance", "quantity": "0",
         "eligible_amount": "0", "amount": str(summed - kept)}
        for agreement_id, kept, summed in out_of_step
    ]
    check = AccrualCheck.objects.create(
        as_of=as_of, agreements_checked=len(sample), agreements_pending=len(pending),
        status=AccrualCheck.Status.DIFFERENCES if differences else AccrualCheck.Status.CLEAN,
        differences_count=len(differences), differences=differences[:DIFFERENCES_KEPT],
    )
    if differences:
        logger.error(
            "Accrual check %s as of %s: the ledger differs from a full recompute in %s agreement months "
            "(agreements %s); a full run (manage.py accrue --full) books the difference.",
            check.pk, as_of, len(differences), ", ".join(sorted({d["agreement"] for d in differences})[:20]))
    else:
        logger.info("Accrual check %s as of %s: %s agreements agree with the ledger.", check.pk, as_of, len(sample))
    return check


def _accruing(as_of: date):
    return RebateAgreement.objects.filter(status__in=ACCRUING_STATUSES, start_month__lte=as_of.replace(day=1))


def _run_going_on() -> bool:
    return AccrualRun.objects.filter(status=AccrualRun.Status.RUNNING).exists()
