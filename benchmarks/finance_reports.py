"""Finance's reports on the synthetic data's booked ledger: the GL journal of every month of the book and the
aged liability per customer, each beside its floor, one SQL aggregate of the whole ledger (its amounts summed
per month and kind, fetched to the client): what the database alone takes to read what both reports read.

The synthetic data is generated when absent and accrued in full when its ledger is empty. After VACUUM ANALYZE
of the ledger and the agreements, floor, journal, floor, aged liability run in turn BENCH_REPEATS times (at
least 3); the minimum of each is quoted (the floor's of its 2 x BENCH_REPEATS runs). Target: each report <= 2 x
the floor. The journal must balance and reconcile to the ledger, and the aged liability add up to the unpaid
balance, or the benchmark fails. Then the bulk approval of 5,000 draft settlements (`settlements_approve`, as the
settlements page's "Approve all" does): target <= 10 s.
"""

import os
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
TARGET = 2.0
APPROVALS = 5_000
APPROVAL_TARGET = 10.0


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Count, Max, Min, Sum

    from config import clock
    from customers import roles
    from rebates.aging import aged_liability, bucket_totals
    from rebates.journal import journal
    from rebates.models import AccrualRun, LedgerEntry, RebateAgreement
    from rebates.services import accrual_run_perform, accrual_run_start
    from rebates.synthetic import generate_synthetic, synthetic_exists

    scale = float(os.environ.get("BENCH_SYNTHETIC_SCALE", "1"))
    repeats = max(3, int(os.environ.get("BENCH_REPEATS", "3")))
    if not synthetic_exists():
        summary = generate_synthetic(customers=int(10_000 * scale), agreements=int(20_000 * scale),
                                     products=max(20, int(500 * scale)), lines=int(1_000_000 * scale))
        print(f"synthetic data: {summary}", flush=True)
    if not LedgerEntry.objects.exists():
        run = accrual_run_start(as_of=clock.today(), full=True, trigger=AccrualRun.Trigger.COMMAND, queue=False)
        accrual_run_perform(run_id=run.pk, workers=int(os.environ.get("BENCH_WORKERS", "2")))
    from django.contrib.auth.models import Group

    roles.roles_sync()
    finance, _ = get_user_model().objects.get_or_create(username="bench.finance")
    finance.groups.add(Group.objects.get(name=roles.FINANCE))
    # The ledger and the agreements (what the journal joins each entry to) as autovacuum keeps them: statistics
    # and visibility map up to date, so index-only scans read no table pages.
    with connection.cursor() as cursor:
        for model in (LedgerEntry, RebateAgreement):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    span = LedgerEntry.objects.aggregate(first=Min("period"), last=Max("period"), n=Count("id"), total=Sum("amount"))
    today = clock.today()

    def floor():
        return list(LedgerEntry.objects.order_by().values("period", "kind").annotate(s=Sum("amount"), n=Count("id"))
                    .values_list("period", "kind", "s", "n"))

    def whole_journal():
        return journal(user=finance, first=span["first"], last=span["last"])

    def aged():
        return aged_liability(user=finance, as_of=today, group="customer").rows

    times = {"floor": [], "journal": [], "aged": []}
    results = {}
    for _ in range(repeats):
        for name, work in (("floor", floor), ("journal", whole_journal), ("floor", floor), ("aged", aged)):
            began = time.perf_counter()
            results[name] = work()
            times[name].append(time.perf_counter() - began)
    base = min(times["floor"])
    made, rows = results["journal"], results["aged"]
    right = {
        "journal": made.balanced and made.reconciles and made.ledger_total == span["total"],
        "aged": bucket_totals(rows)[1] == (span["total"] or Decimal("0.00")),
    }
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"finance reports on {span['n']:,} ledger entries, {span['first']:%Y-%m} to {span['last']:%Y-%m}; "
          f"floor (the ledger summed per month and kind) {base:.3f} s, the least of {len(times['floor'])}; "
          f"load average {load}", flush=True)
    ok = True
    for name, words, detail in (
            ("journal", "GL journal of every month", f"{len(made.lines):,} lines, debits {made.debit:,} = credits "
                                                     f"{made.credit:,}, reconciled {made.reconciles}"),
            ("aged", "aged liability per customer", f"{len(rows):,} customers, unpaid "
                                                    f"{bucket_totals(rows)[1]:,} = the ledger's {span['total']:,}")):
        figure = min(times[name])
        ratio = figure / base
        good = ratio <= TARGET and right[name]
        ok = ok and good
        print(f"finance {words:<30} {figure:6.3f} s = {ratio:4.2f} x floor (target <= {TARGET:.0f}) "
              f"{'ok' if good else 'ABOVE TARGET' if right[name] else 'WRONG'}  [{detail}]", flush=True)

    # Bulk approval: 5,000 drafts (one per agreement, a period of their own), approved in one call as the
    # settlements page's "Approve all" does; in a transaction rolled back afterwards.
    from django.db import transaction

    from rebates.models import Settlement
    from rebates.services import settlements_approve

    approvals = []
    for _ in range(repeats):
        with transaction.atomic():
            agreements = list(RebateAgreement.objects.order_by("pk").values_list("pk", flat=True)[:APPROVALS])
            drafts = Settlement.objects.bulk_create(
                Settlement(agreement_id=pk, period_start=date(1999, 1, 1), period_end=date(1999, 12, 1),
                           accrued_total=Decimal("10.00"), amount=Decimal("10.00")) for pk in agreements)
            began = time.perf_counter()
            done = settlements_approve(settlement_ids=[d.pk for d in drafts], by=finance)
            # A settlement in another currency without its period's rate (1999 has none) awaits a second
            # approval: approved once all the same.
            approved, awaiting, amount = done.approved, done.awaiting_second, done.amount
            approvals.append(time.perf_counter() - began)
            transaction.set_rollback(True)
    figure = min(approvals)
    given = len(approved) + len(awaiting)
    good = figure <= APPROVAL_TARGET and given == len(agreements)
    ok = ok and good
    verdict = "ok" if good else "ABOVE TARGET" if given == len(agreements) else "WRONG"
    print(f"finance bulk approval of {given:,} settlements {figure:6.2f} s (target <= {APPROVAL_TARGET:.0f} s) "
          f"{verdict}  [{len(approved):,} approved, {len(awaiting):,} awaiting a second approval; {amount:,} in all; "
          f"each with its audit row]", flush=True)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
