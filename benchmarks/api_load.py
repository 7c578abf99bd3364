"""R20: ten times a day's ERP traffic against gunicorn on loopback while the nightly accrual run goes on.

A day's lines: the synthetic data's 1,000,000 lines over 24 months of 30 days, about 1,389 lines. The ERP
sends them in batches of BENCH_LOAD_BATCH (default 100) lines with an Idempotency-Key, from
BENCH_LOAD_CLIENTS (default 4) clients at once, and reads as it goes (one read of accruals, purchases or
agreements for every three batches). Floor: the same kind of traffic, one day's worth, with no run going
on, measured first in the same run. Target: 0 answers of 5xx; the 95th percentile is printed beside the
floor's. Full accrual runs are started back to back (BENCH_WORKERS chunk workers, default 1) until the
traffic is over, so every request meets a run. The lines posted are removed at the end. Run by `make bench`.
"""

import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "LOAD-"
DAY_LINES = 1_000_000 // (24 * 30)
BATCH = int(os.environ.get("BENCH_LOAD_BATCH", "100"))
CLIENTS = int(os.environ.get("BENCH_LOAD_CLIENTS", "4"))
WORKERS = os.environ.get("BENCH_WORKERS", "1")
AS_OF = "2026-12-31"

SYNTHETIC_LINES_SQL = """
SELECT c.code, p.sku, pl.month, pl.quantity, pl.unit_price, pl.amount
FROM rebates_purchaseline pl JOIN customers_customer c ON c.id = pl.customer_id
JOIN rebates_product p ON p.id = pl.product_id
WHERE pl.erp_line_id LIKE 'BK-%%' ORDER BY pl.id %% 97, pl.id LIMIT %s
"""


def traffic(rows, label):
    """The requests of `rows` lines: batches of new lines, each with its own key, and reads between them."""
    from _api_server import as_json_lines, encode

    lines = as_json_lines((f"{PREFIX}{label}-{i:07d}", *row) for i, row in enumerate(rows))
    requests, customers = [], sorted({line["customer"] for line in lines})
    for n, start in enumerate(range(0, len(lines), BATCH)):
        requests.append(("POST", "/api/v1/purchases/", encode(lines[start:start + BATCH])))
        if n % 3 == 2:
            customer = customers[n % len(customers)]
            read = ("/api/v1/accruals/?customer={}", "/api/v1/purchases/?customer={}&page_size=50",
                    "/api/v1/agreements/?customer={}")[n // 3 % 3]
            requests.append(("GET", read.format(customer), None))
    return requests


def send_all(port, token, requests):
    from _api_server import request

    def send(item):
        method, path, body = item
        headers = {"Authorization": f"Token {token}"}
        if method == "POST":
            headers["Idempotency-Key"] = str(uuid.uuid4())
        began = time.perf_counter()
        status, answer = request(port, method, path, body, headers)
        return method, status, time.perf_counter() - began, answer

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(send, requests))


def percentile(values, share):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(share * (len(values) - 1))))]


def summary(results):
    latencies = [seconds for _, _, seconds, _ in results]
    return {
        "requests": len(results),
        "posts": sum(1 for method, *_ in results if method == "POST"),
        "server_errors": sum(1 for _, status, _, _ in results if status >= 500),
        "other_errors": sum(1 for _, status, _, _ in results if 400 <= status < 500),
        "p50": statistics.median(latencies),
        "p95": percentile(latencies, 0.95),
        "max": max(latencies),
    }


def accrual_runs_until(stop: threading.Event, runs: list):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(ROOT / "benchmarks" / "_accrual_once.py"), AS_OF, "--full", "--workers", WORKERS]
    while not stop.is_set():
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            runs.append({"status": "crashed", "error": result.stderr[-500:]})
            return
        runs.append(json.loads(result.stdout.strip().splitlines()[-1]))


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    django.setup()
    from _api_server import erp_token, gunicorn
    from django.db import connection

    from rebates.models import AccrualRun, ImportBatch, PurchaseLine
    from rebates.synthetic import generate_synthetic, synthetic_exists

    if not synthetic_exists():
        scale = float(os.environ.get("BENCH_SYNTHETIC_SCALE", "1"))
        print("synthetic data:", generate_synthetic(customers=int(10_000 * scale), agreements=int(20_000 * scale),
                                                    products=max(20, int(500 * scale)),
                                                    lines=int(1_000_000 * scale)))
    PurchaseLine.objects.filter(erp_line_id__startswith=PREFIX).delete()
    with connection.cursor() as cursor:
        cursor.execute(SYNTHETIC_LINES_SQL, [11 * DAY_LINES])
        rows = cursor.fetchall()
    floor_requests = traffic(rows[:DAY_LINES], "floor")
    load_requests = traffic(rows[DAY_LINES:], "load")
    token = erp_token()
    last_batch = ImportBatch.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    connection.close()
    ok = True
    try:
        with gunicorn() as port:
            # Warm both workers up (imports, first connections) before anything is measured.
            send_all(port, token, [req for req in floor_requests if req[0] == "GET"] * CLIENTS)
            floor = summary(send_all(port, token, floor_requests))
            print(f"api load floor: one day's lines ({DAY_LINES:,}) in {floor['posts']} batches of {BATCH} and "
                  f"{floor['requests'] - floor['posts']} reads, {CLIENTS} clients, no accrual run: "
                  f"p95 {floor['p95'] * 1000:.0f} ms, {floor['server_errors']} 5xx")
            stop, runs = threading.Event(), []
            runner = threading.Thread(target=accrual_runs_until, args=(stop, runs))
            runner.start()
            while not AccrualRun.objects.filter(status=AccrualRun.Status.RUNNING).exists() and runner.is_alive():
                time.sleep(0.2)
            connection.close()
            began = time.perf_counter()
            results = send_all(port, token, load_requests)
            seconds = time.perf_counter() - began
            stop.set()
            runner.join()
            load = summary(results)
            lines = len(rows) - DAY_LINES
            ratio = load["p95"] / floor["p95"]
            verdict = "ok" if load["server_errors"] == 0 else "SERVER ERRORS"
            print(f"api load: 10 x a day's lines ({lines:,}) in {load['posts']} batches and "
                  f"{load['requests'] - load['posts']} reads in {seconds:.1f} s during "
                  f"{len(runs)} full accrual run(s) [{', '.join(run['status'] for run in runs)}]: "
                  f"{load['server_errors']} 5xx (target 0) {verdict}; {load['other_errors']} 4xx; "
                  f"p50 {load['p50'] * 1000:.0f} ms, p95 {load['p95'] * 1000:.0f} ms = {ratio:.2f} x the floor's p95, "
                  f"max {load['max'] * 1000:.0f} ms")
            if load["server_errors"] or load["other_errors"] or floor["server_errors"]:
                ok = False
                bad = next(answer for _, status, _, answer in results if status >= 400)
                print(f"   first error: {bad[:300]!r}")
            if any(run["status"] not in ("succeeded", "skipped") for run in runs):
                ok = False
                print(f"   accrual runs: {runs}")
    finally:
        PurchaseLine.objects.filter(erp_line_id__startswith=PREFIX).delete()
        ImportBatch.objects.filter(pk__gt=last_batch, source=ImportBatch.Source.API).delete()
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
