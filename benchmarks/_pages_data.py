"""Price claims for the pages benchmark on the synthetic data: for a few dozen products, a few market moves
echoed by several customers within weeks (they become signals) and scattered bluffs, over the last half
year. Named by their competitor, so they are removed afterwards and other benchmarks never see them."""

import random
from datetime import timedelta
from decimal import Decimal

from pricing_signals.models import Competitor, MarketSignal, PriceClaim
from pricing_signals.services import signals_detect
from rebates.models import RebateAgreement

COMPETITOR = "Pages Bench Apex Supply"
PRODUCTS, MOVES, ECHOES, BLUFFS = 60, 3, 4, 20


def claims_load(*, as_of, seed=2026) -> int:
    """Add the claims (once) and detect their signals; returns how many claims there are."""
    rng = random.Random(seed)
    competitor, _ = Competitor.objects.get_or_create(name=COMPETITOR)
    if PriceClaim.objects.filter(competitor=competitor).exists():
        return PriceClaim.objects.filter(competitor=competitor).count()
    buyers = {}
    for product_id, customer_id, manager_id, list_price in (
        RebateAgreement.objects.active().filter(products__isnull=False)
        .values_list("products", "customer_id", "customer__account_manager_id", "products__list_price")
        .order_by("products", "customer_id")[:200_000]
    ):
        buyers.setdefault(product_id, []).append((customer_id, manager_id, list_price))
    chosen = [pk for pk, rows in sorted(buyers.items()) if len(rows) >= ECHOES + 2][:PRODUCTS]
    first = as_of - timedelta(days=180)
    claims = []
    for product_id in chosen:
        rows = buyers[product_id]
        for _ in range(MOVES):
            day = first + timedelta(days=rng.randrange(150))
            price = (rows[0][2] * Decimal(rng.randrange(80, 95)) / 100).quantize(Decimal("0.01"))
            for customer_id, manager_id, _ in rng.sample(rows, ECHOES):
                claims.append(PriceClaim(customer_id=customer_id, product_id=product_id, competitor=competitor,
                                         claimed_price=price, reported_on=day + timedelta(days=rng.randrange(20)),
                                         channel="call", reported_by_id=manager_id))
        for _ in range(BLUFFS):
            customer_id, manager_id, list_price = rng.choice(rows)
            claims.append(PriceClaim(customer_id=customer_id, product_id=product_id, competitor=competitor,
                                     claimed_price=(list_price * Decimal(rng.randrange(60, 97)) / 100)
                                     .quantize(Decimal("0.01")),
                                     reported_on=first + timedelta(days=rng.randrange(178)), channel="email",
                                     reported_by_id=manager_id))
    PriceClaim.objects.bulk_create(claims, batch_size=5000)
    signals_detect(as_of=as_of, products=chosen)
    return len(claims)


def claims_delete():
    competitor = Competitor.objects.filter(name=COMPETITOR).first()
    if competitor is None:
        return
    products = list(PriceClaim.objects.filter(competitor=competitor).values_list("product_id", flat=True).distinct()
                    .order_by())
    PriceClaim.objects.filter(competitor=competitor).delete()
    MarketSignal.objects.filter(product_id__in=products, claims__isnull=True, price_matches__isnull=True).delete()
    competitor.delete()
