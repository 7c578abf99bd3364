"""Price claims for the market signal benchmark, loaded with COPY onto the synthetic data's customers and
products (generate_synthetic makes them when there are none).

Six years of claims, the same number per product (about one a day). 70 % are bluffs: a price anywhere from
3 % to 45 % below list, on a day of their own. The rest echo one of fifteen market moves per product: a
competitor's new price that customers report within a few weeks, each within 0.7 % of it. At a claim a
day per product, bluffs often happen to agree with two others too: most claims end up corroborated.
Claims are drawn from one seeded generator, so a seed always gives the same claims.
"""

import random
import time
from datetime import date, timedelta

from django.db import connection, transaction

from config import clock
from pricing_signals.models import Competitor, MarketSignal, PriceClaim
from rebates.bulk import copy_lines, csv_field, indexes_rebuilt_after

FIRST_DAY, DAYS = date(2021, 1, 1), 6 * 365 + 1
AS_OF = FIRST_DAY + timedelta(days=DAYS - 1)
COMPETITORS = ("Bench Apex Supply", "Bench Northline", "Bench Budget Bolt", "Bench ProTool")
CHANNELS = ("call", "email", "visit", "quote")
MOVES_PER_PRODUCT, ECHO_SHARE, ECHO_SPREAD_DAYS = 15, 30, 25
COLUMNS = ("customer_id", "product_id", "competitor_id", "claimed_price", "reported_on", "channel", "reported_by_id",
           "note", "evidence", "evidence_sha256", "status", "created_at")


def claims_delete():
    """Remove the benchmark's claims (named by their competitors) and the signals they made, set-based
    (the pages benchmark that runs next then sees only its own claims)."""
    competitors = list(Competitor.objects.filter(name__in=COMPETITORS).values_list("pk", flat=True))
    if not competitors:
        return
    claims = connection.ops.quote_name(PriceClaim._meta.db_table)
    signals = connection.ops.quote_name(MarketSignal._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT product_id FROM {claims} WHERE competitor_id = ANY(%s)", [competitors])
        products = [row[0] for row in cursor.fetchall()]
        cursor.execute(f"DELETE FROM {claims} WHERE competitor_id = ANY(%s)", [competitors])
        # Signals nothing else holds on to: no claim left, no price change made for them, no decision.
        cursor.execute(f"DELETE FROM {signals} s WHERE s.product_id = ANY(%s) AND s.status = 'open' "
                       f"AND NOT EXISTS (SELECT 1 FROM {claims} c WHERE c.signal_id = s.id)", [products])


def claims_generate(*, products, customers, claims=1_000_000, seed=2026):
    """COPY `claims` pending claims spread evenly over `products` [(id, list price)] by `customers`
    [(id, account manager id)]. Returns the seconds it took."""
    began = time.perf_counter()
    rng = random.Random(seed)
    competitors = [Competitor.objects.get_or_create(name=name)[0].pk for name in COMPETITORS]
    days = [csv_field(FIRST_DAY + timedelta(days=i)) for i in range(DAYS)]
    created = csv_field(clock.now())
    per_product = claims // len(products)
    extra = claims - per_product * len(products)

    def lines():
        randrange, randint = rng.randrange, rng.randint
        for index, (product_id, list_price) in enumerate(products):
            list_cents = int(list_price * 100)
            moves = [(randrange(DAYS - ECHO_SPREAD_DAYS), list_cents * randint(780, 950) // 1000)
                     for _ in range(MOVES_PER_PRODUCT)]
            for _ in range(per_product + (1 if index < extra else 0)):
                customer_id, manager_id = customers[randrange(len(customers))]
                if randrange(100) < ECHO_SHARE:
                    day, level = moves[randrange(MOVES_PER_PRODUCT)]
                    day += randrange(ECHO_SPREAD_DAYS)
                    cents = level * randint(993, 1007) // 1000
                else:
                    day = randrange(DAYS)
                    cents = list_cents * randint(550, 970) // 1000
                cents = max(cents, 1)
                yield (f"{customer_id},{product_id},{competitors[randrange(4)]},{cents // 100}.{cents % 100:02d},"
                       f"{days[day]},{CHANNELS[randrange(4)]},{manager_id},\"\",\"\",\"\",pending,{created}\n")

    with transaction.atomic(), indexes_rebuilt_after(PriceClaim._meta.db_table, rows_written=claims):
        copy_lines(PriceClaim, COLUMNS, lines())
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {connection.ops.quote_name(PriceClaim._meta.db_table)}")
    return time.perf_counter() - began
