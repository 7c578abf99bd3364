"""Pages on the generated book: p95 of the dashboard of each role (the account manager's with one manager's
share of the book's customers, the pricing manager's with the open signals and their exposure, finance's
with the runs, liability and settlements waiting), the agreement page and the signals page, each beside its
target of 200 ms. A signal's own page (claims, exposure table, decision form) is printed for the record.

Measured in-process with Django's test Client (the whole middleware stack, templates included, against
PostgreSQL), after a few warm-up requests. The generated book is built by generate_book when absent and
accrued once when its ledger is empty; a few thousand price claims over the last half year are added for
the signals page and removed afterwards. The ledger, claims and signals are then vacuumed and analyzed, as
autovacuum does within a minute or so of such a load: the figures are the pages' steady state, not the
planner's first minute without statistics. Run by `make bench`; BENCH_PAGE_REQUESTS sets the sample size.
"""

import os
import statistics
import sys
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
TARGET_MS = 200.0
REQUESTS = int(os.environ.get("BENCH_PAGE_REQUESTS", "60"))
WARM_UP = 5


def p95(samples):
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def measure(client, urls):
    """Milliseconds per request, cycling through `urls`; every answer must be a 200."""
    timings = []
    for index in range(WARM_UP + REQUESTS):
        url = urls[index % len(urls)]
        began = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            sys.exit(f"{url} answered {response.status_code}")
        if index >= WARM_UP:
            timings.append(elapsed)
    return timings


def line(name, timings, extra="", target=True):
    figure = p95(timings)
    ratio = figure / TARGET_MS
    verdict = ("ok" if ratio <= 1 else "ABOVE TARGET") if target else "(not a target)"
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"pages {name:<44} p95 {figure:7.1f} ms = {ratio:4.2f} x target ({TARGET_MS:.0f} ms) {verdict}"
          f"  [median {statistics.median(timings):.1f} ms, {len(timings)} requests{extra}; load average {load}]",
          flush=True)
    return ratio <= 1


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import setup_test_environment

    from config import clock
    from customers.models import Customer
    from customers.roles import FINANCE, PRICING_MANAGER
    from pricing_signals.models import MarketSignal, PriceClaim
    from rebates.book import MANAGER_PREFIX, book_exists, generate_book
    from rebates.models import AccrualRun, LedgerEntry, RebateAgreement
    from rebates.services import accrual_run_perform, accrual_run_start

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _pages_data import claims_delete, claims_load

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    scale = float(os.environ.get("BENCH_BOOK_SCALE", "1"))
    if not book_exists():
        summary = generate_book(customers=int(10_000 * scale), agreements=int(20_000 * scale),
                                products=max(20, int(500 * scale)), lines=int(1_000_000 * scale))
        print(f"book: {summary}")
    if not LedgerEntry.objects.exists():
        began = time.perf_counter()
        run = accrual_run_start(as_of=clock.today(), full=True, trigger=AccrualRun.Trigger.COMMAND,
                                queue=False)
        accrual_run_perform(run_id=run.pk, workers=int(os.environ.get("BENCH_WORKERS", "2")))
        print(f"ledger: accrued the book as of {clock.today()} in {time.perf_counter() - began:.0f} s")
    users = get_user_model()
    manager = (users.objects.filter(username__startswith=MANAGER_PREFIX).annotate(n=Count("managed_customers"))
               .order_by("-n", "username").first())
    customers = Customer.objects.filter(account_manager=manager).count()
    pricing, _ = users.objects.get_or_create(username="bench.pricing", defaults={"first_name": "Bench"})
    pricing.groups.add(Group.objects.get(name=PRICING_MANAGER))
    finance, _ = users.objects.get_or_create(username="bench.finance", defaults={"first_name": "Bench"})
    finance.groups.add(Group.objects.get(name=FINANCE))
    claims = claims_load(as_of=clock.today())
    with connection.cursor() as cursor:
        for model in (LedgerEntry, PriceClaim, MarketSignal):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    try:
        numbers = list(RebateAgreement.objects.filter(customer__account_manager=manager, rule__isnull=False)
                       .order_by("number").values_list("number", flat=True)[:40])
        results = []
        client = Client()
        client.force_login(manager)
        results.append(line(f"dashboard (account manager, {customers:,} customers)", measure(client, ["/"])))
        results.append(line("agreement page (monthly sheet, chart)",
                            measure(client, [f"/agreements/{number}/" for number in numbers]),
                            f", {len(numbers)} agreements"))
        client.force_login(pricing)
        results.append(line("signals page (timeline, list)", measure(client, ["/signals/"]),
                            f", {claims:,} claims in the half year"))
        open_signals = MarketSignal.objects.filter(status__in=("open", "acknowledged"), merged_into__isnull=True)
        results.append(line("dashboard (pricing manager)", measure(client, ["/"]),
                            f", {open_signals.count():,} open signals, exposure of the newest 5"))
        signal_ids = list(open_signals.order_by("-window_end", "-pk").values_list("pk", flat=True)[:20])
        line("signal page (claims, exposure, decision form)",
             measure(client, [f"/signals/{pk}/" for pk in signal_ids]), f", {len(signal_ids)} signals", target=False)
        client.force_login(finance)
        results.append(line("dashboard (finance)", measure(client, ["/"]),
                            f", {LedgerEntry.objects.count():,} ledger entries"))
    finally:
        claims_delete()
    if not all(results):
        sys.exit(1)


if __name__ == "__main__":
    main()
