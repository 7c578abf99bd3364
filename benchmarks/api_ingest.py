"""Purchase lines posted over HTTP, beside PostgreSQL COPY of the same rows measured in the same run.

Takes BENCH_INGEST_LINES (default 200,000) lines of the synthetic data, posts them as new lines (their
erp_line_ids prefixed with "API-") in batches of 5,000 to gunicorn on loopback (2 workers, as many
clients at once), then sends the same batches again unchanged. Floor: one COPY of the same rows into
rebates_purchaseline (rolled back). Targets (issue 6): first send >= 20% of COPY's rows per second;
resend unchanged >= 30%. The posted lines are removed again at the end. Run by `make bench`.
"""

import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "API-"
BATCH = 5000
TOTAL = int(os.environ.get("BENCH_INGEST_LINES", "200000"))
CLIENTS = int(os.environ.get("BENCH_API_CLIENTS", "2"))

SYNTHETIC_LINES_SQL = """
SELECT %s || pl.erp_line_id, c.code, p.sku, pl.month, pl.quantity, pl.unit_price, pl.amount
FROM rebates_purchaseline pl JOIN customers_customer c ON c.id = pl.customer_id
JOIN rebates_product p ON p.id = pl.product_id
WHERE pl.erp_line_id LIKE 'BK-%%' ORDER BY pl.id %% 5, pl.id LIMIT %s
"""


def copy_floor(connection, rows) -> float:
    """Seconds for COPY of the rows (ids resolved, as COPY needs them) into the purchase table, rolled back."""
    from django.db import transaction

    with connection.cursor() as cursor:
        cursor.execute("SELECT code, id FROM customers_customer")
        customers = dict(cursor.fetchall())
        cursor.execute("SELECT sku, id FROM rebates_product")
        products = dict(cursor.fetchall())
    text = "".join(f"{erp}\t{customers[c]}\t{products[p]}\t{m}\t{q}\t{u}\t{a}\tapi\tnow\tnow\n"
                   for erp, c, p, m, q, u, a in rows)
    timings = []
    for _ in range(2):
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    began = time.perf_counter()
                    cursor.cursor.copy_expert(
                        "COPY rebates_purchaseline (erp_line_id, customer_id, product_id, month, quantity, "
                        "unit_price, amount, source, created_at, updated_at) FROM STDIN", StringIO(text))
                    timings.append(time.perf_counter() - began)
                raise _Rollback
        except _Rollback:
            pass
    return min(timings)


def vacuum(connection):
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) rebates_purchaseline")


class _Rollback(Exception):
    pass


def post_all(port, token, bodies, label):
    from _api_server import request

    def send(body):
        began = time.perf_counter()
        status, answer = request(port, "POST", "/api/v1/purchases/", body, {
            "Authorization": f"Token {token}", "Idempotency-Key": f"{label}-{uuid.uuid4()}"})
        return status, answer, time.perf_counter() - began

    began = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(send, bodies))
    seconds = time.perf_counter() - began
    failed = [(status, answer[:300]) for status, answer, _ in results if status != 200]
    if failed:
        sys.exit(f"{label}: {len(failed)} requests failed, e.g. {failed[0]}")
    import json

    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for _, answer, _ in results:
        body = json.loads(answer)
        for key in counts:
            counts[key] += body[key]
    latencies = sorted(latency for _, _, latency in results)
    return seconds, counts, statistics.median(latencies)


def line(name, rows, seconds, floor_rate, target, extra=""):
    rate = rows / seconds
    ratio = rate / floor_rate
    verdict = "ok" if ratio >= target else "BELOW TARGET"
    print(f"api ingest {name:<30} {rows:,} lines in {seconds:6.2f} s = {rate:9,.0f} lines/s = {ratio:4.2f} x COPY "
          f"(target >= {target:.2f} x) {verdict}{extra}")
    return ratio >= target


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    django.setup()
    from _api_server import as_json_lines, encode, erp_token, gunicorn
    from django.db import connection

    from rebates.models import ImportBatch, PurchaseLine
    from rebates.synthetic import generate_synthetic, synthetic_exists

    if not synthetic_exists():
        scale = float(os.environ.get("BENCH_SYNTHETIC_SCALE", "1"))
        print("synthetic data:", generate_synthetic(customers=int(10_000 * scale), agreements=int(20_000 * scale),
                                                    products=max(20, int(500 * scale)),
                                                    lines=int(1_000_000 * scale)))
    PurchaseLine.objects.filter(erp_line_id__startswith=PREFIX).delete()
    with connection.cursor() as cursor:
        cursor.execute(SYNTHETIC_LINES_SQL, [PREFIX, TOTAL])
        rows = cursor.fetchall()
    total = len(rows)
    # Rows removed or rolled back leave dead index entries under the same keys; clear them so neither the
    # floor nor the API meets the other's leftovers.
    vacuum(connection)
    floor_seconds = copy_floor(connection, rows)
    vacuum(connection)
    floor_rate = total / floor_seconds
    print(f"api ingest floor: COPY of the same {total:,} lines into rebates_purchaseline: {floor_seconds:.2f} s = "
          f"{floor_rate:,.0f} lines/s")
    bodies = [encode(as_json_lines(rows[i:i + BATCH])) for i in range(0, total, BATCH)]
    token = erp_token()
    last_batch = ImportBatch.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    results = []
    try:
        with gunicorn() as port:
            print(f"api ingest: {len(bodies)} batches of {BATCH:,} lines, {CLIENTS} clients at once, gunicorn with "
                  f"2 workers on 127.0.0.1:{port}")
            seconds, counts, median = post_all(port, token, bodies, "first")
            results.append(line("first send (all new)", total, seconds, floor_rate, 0.20,
                                f"  [{counts['created']:,} created; median batch {median * 1000:.0f} ms]"))
            results.append(counts["created"] == total)
            seconds, counts, median = post_all(port, token, bodies, "resend")
            results.append(line("resend unchanged", total, seconds, floor_rate, 0.30,
                                f"  [{counts['unchanged']:,} unchanged; median batch {median * 1000:.0f} ms]"))
            results.append(counts["unchanged"] == total)
    finally:
        PurchaseLine.objects.filter(erp_line_id__startswith=PREFIX).delete()
        ImportBatch.objects.filter(pk__gt=last_batch, source=ImportBatch.Source.API).delete()
    if not all(results):
        sys.exit(1)


if __name__ == "__main__":
    main()
