"""Value and risk on the synthetic data (10,000 customers, 20,000 agreements): the nightly outlook_refresh beside
the full accrual run of the same data in the same run (target <= 0.5 x), beside its floor (the one aggregate of
the purchase lines it reads, fetched to the client), and the pages it feeds: the account manager's dashboard
("What to do today"), /contacts/due/ and /value-risk/, each p95 beside 200 ms, the dashboard's queries beside 20.

The synthetic data is generated when absent (with its contacts) and accrued in full when its ledger is empty:
that first run is the accrual figure; on a ledger already booked, a `full` run (every agreement recomputed,
nothing to book) stands in and the line says so. The synthetic data's own price claims (a few thousand over
its last half year) are detected (benchmarks/_pages_data.py) so the claims and signals factors have work, and
put back as generated afterwards.
The refresh runs three times: the first writes every customer's tier and risk, the next find nothing changed.
"""

import os
import sys
import time
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
PAGE_TARGET_MS = 200.0
MAX_QUERIES = 20


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    sys.path.insert(0, str(ROOT))
    django.setup()
    sys.path.append(str(ROOT / "benchmarks"))
    from _pages_data import claims_delete, claims_load
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.db.models import Count
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, setup_test_environment

    from benchmarks.pages import measure, p95  # the page figures measured as every page line is
    from config import clock
    from customers.models import Contact, Customer
    from outlook.services import outlook_refresh
    from pricing_signals.models import MarketSignal, PriceClaim
    from rebates.engine.periods import add_months, month_of
    from rebates.models import AccrualRun, LedgerEntry, PurchaseLine
    from rebates.services import accrual_run_perform, accrual_run_start
    from rebates.synthetic import MANAGER_PREFIX, generate_synthetic, synthetic_exists

    setup_test_environment()
    settings.ALLOWED_HOSTS = ["*"]
    scale = float(os.environ.get("BENCH_SYNTHETIC_SCALE", "1"))
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    if not synthetic_exists():
        summary = generate_synthetic(customers=int(10_000 * scale), agreements=int(20_000 * scale),
                                     products=max(20, int(500 * scale)), lines=int(1_000_000 * scale))
        print(f"synthetic data: {summary}", flush=True)
    first = not LedgerEntry.objects.exists()
    began = time.perf_counter()
    run = accrual_run_start(as_of=clock.today(), full=True, trigger=AccrualRun.Trigger.COMMAND, queue=False)
    accrual_run_perform(run_id=run.pk, workers=workers)
    accrual = time.perf_counter() - began
    kind = "first full run" if first else "full recompute of a booked ledger"
    print(f"accrual run ({kind}, {workers} workers): {accrual:.2f} s", flush=True)

    claims = claims_load(as_of=clock.today())
    with connection.cursor() as cursor:
        for model in (Customer, Contact, PriceClaim, MarketSignal, LedgerEntry):
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    try:
        today = clock.today()
        last = month_of(today)
        floor_times, refresh_times, changed = [], [], []
        for _ in range(3):
            began = time.perf_counter()
            list(PurchaseLine.objects.filter(month__gte=add_months(last, -23), month__lte=last).order_by()
                 .values("customer_id").annotate(n=Count("pk")).values_list("customer_id", "n"))
            floor_times.append(time.perf_counter() - began)
            began = time.perf_counter()
            result = outlook_refresh(as_of=today)
            refresh_times.append(time.perf_counter() - began)
            changed.append(result.changed)
        refresh, floor = min(refresh_times), min(floor_times)
        first_refresh = refresh_times[0]
        ratio = first_refresh / accrual
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"value_risk outlook_refresh (first, writes every customer) {first_refresh:6.2f} s = {ratio:4.2f} x "
              f"accrual run (target <= 0.5) {'ok' if ratio <= 0.5 else 'ABOVE TARGET'}  "
              f"[{result.customers:,} customers, {claims:,} claims, changed {changed}; tiers {result.by_tier}; "
              f"levels {result.by_level}; load average {load}]", flush=True)
        print(f"value_risk outlook_refresh (nothing changed) {refresh:6.2f} s = {refresh / floor:5.1f} x floor "
              f"({floor:.3f} s: the purchase aggregate alone)", flush=True)

        users = get_user_model()
        manager = (users.objects.filter(username__startswith=MANAGER_PREFIX).annotate(n=Count("managed_customers"))
                   .order_by("-n", "username").first())
        client = Client()
        client.force_login(manager)
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/").status_code == 200
        mine = Customer.objects.filter(account_manager=manager).count()
        ok = [ratio <= 0.5, len(queries) <= MAX_QUERIES]
        print(f"value_risk dashboard queries (account manager, {mine:,} customers): {len(queries)} "
              f"(target <= {MAX_QUERIES}) {'ok' if len(queries) <= MAX_QUERIES else 'ABOVE TARGET'}", flush=True)
        for name, url in (("dashboard (account manager)", "/"), ("contacts due (account manager)", "/contacts/due/"),
                          ("value and risk (account manager)", "/value-risk/")):
            figure = p95(measure(client, [url]))
            ok.append(figure <= PAGE_TARGET_MS)
            print(f"value_risk {name:<36} p95 {figure:7.1f} ms = {figure / PAGE_TARGET_MS:4.2f} x target "
                  f"({PAGE_TARGET_MS:.0f} ms) {'ok' if figure <= PAGE_TARGET_MS else 'ABOVE TARGET'}", flush=True)
    finally:
        claims_delete()
    if not all(ok):
        sys.exit(1)


if __name__ == "__main__":
    main()
