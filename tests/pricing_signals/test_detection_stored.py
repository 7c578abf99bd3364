"""Detection through the database gives what the pure detection and the brute force give.

Random claims of two products (some dismissed) are stored and detected the way production does it: by
the nightly sweep, by the check of each claim as it arrives (in an order unrelated to its date), or by a
sweep over the first ones and checks of the rest. Every claim's stored status and every stored signal
(its claims, dates, counts and median) are then compared with `detection.detect` and with the brute force
over every subset (tests/pricing_signals/test_detection.py), under a random detection rule.
"""

import statistics
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pricing_signals.detection import Claim, Rule, detect
from pricing_signals.models import DetectionRule, MarketSignal, PriceClaim
from pricing_signals.services import price_claim_check, signals_detect
from tests.factories import CompetitorFactory, CustomerFactory, ProductFactory
from tests.pricing_signals.test_detection import brute_force

pytestmark = pytest.mark.django_db

BASE_DAY = date(2026, 1, 1)
PATHS = ("sweep", "checks", "sweep then checks")
LATER_DAYS = 25  # the whole sweep after each path runs this many days later


@pytest.fixture
def cast(db):
    """Two products, four customers, two competitors; the claims themselves come from each example."""
    customers = [CustomerFactory() for _ in range(4)]
    return {"products": [ProductFactory().pk, ProductFactory().pk], "customers": [c.pk for c in customers],
            "competitors": [CompetitorFactory(name="Apex Supply").pk, CompetitorFactory(name="Budget Bolt Direct").pk],
            "reporter": customers[0].account_manager_id}


# (product, customer, competitor, day, price in ten-thousandths, dismissed): at most ten, so that the
# brute force over every subset of a product's claims stays quick.
claim_rows = st.lists(
    st.tuples(st.integers(0, 1), st.integers(0, 3), st.integers(0, 1), st.integers(0, 45),
              st.integers(100_000, 103_000), st.integers(0, 9).map(lambda n: n == 0)),
    min_size=1, max_size=10,
)
db_rules = st.builds(Rule, window_days=st.integers(1, 40), min_customers=st.integers(1, 4),
                     tolerance_percent=st.sampled_from([Decimal("0.5"), Decimal(2), Decimal("3.5")]),
                     same_competitor=st.booleans())


def stored_outcome(ids):
    """(status of each claim not dismissed, {claim ids of a signal: its figures}, dismissed claims' rows)."""
    statuses, members, dismissed = {}, defaultdict(list), []
    for pk, status, signal in PriceClaim.objects.filter(pk__in=ids).values_list("pk", "status", "signal_id"):
        if status == PriceClaim.Status.DISMISSED:
            dismissed.append((status, signal))
            continue
        statuses[pk] = status
        if signal is not None:
            members[signal].append(pk)
    rows = {row[0]: row[1:] for row in MarketSignal.objects.values_list(
        "pk", "window_start", "window_end", "claim_count", "customer_count", "median_price")}
    assert set(rows) == set(members), "every stored signal holds claims, and only stored signals do"
    return statuses, {tuple(sorted(claim_ids)): rows[pk] for pk, claim_ids in members.items()}, dismissed


def by_group(claims, rule):
    """The claims (not dismissed) detected together: by product, and competitor when the rule says so."""
    groups = defaultdict(list)
    for product, competitor, claim in claims:
        groups[(product, competitor) if rule.same_competitor else product].append(claim)
    return groups.values()


def pure_outcome(claims, rule, as_of):
    statuses, signals = {}, {}
    for group in by_group(claims, rule):
        result = detect(group, rule, as_of=as_of)
        statuses.update(result.statuses)
        for signal in result.signals:
            signals[signal.claim_ids] = (signal.window_start, signal.window_end, signal.claim_count,
                                         signal.customer_count, signal.median_price)
    return statuses, signals


def brute_outcome(claims, rule, as_of):
    """The brute force's statuses and members, with each signal's figures worked out here from its claims."""
    statuses, signals = {}, {}
    for group in by_group(claims, rule):
        group_statuses, members = brute_force(group, rule, as_of)
        statuses.update(group_statuses)
        of = {claim.id: claim for claim in group}
        for claim_ids in members:
            held = [of[pk] for pk in claim_ids]
            median = Decimal(statistics.median(claim.price for claim in held))
            signals[tuple(claim_ids)] = (min(c.reported_on for c in held), max(c.reported_on for c in held),
                                         len(held), len({c.customer for c in held}),
                                         median.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
    return statuses, signals


def store_rule(rule):
    DetectionRule.objects.filter(product_line__isnull=True).update(
        window_days=rule.window_days, min_customers=rule.min_customers, tolerance_percent=rule.tolerance_percent,
        same_competitor=rule.same_competitor)


def store_claims(cast, rows):
    return PriceClaim.objects.bulk_create([
        PriceClaim(product_id=cast["products"][product], customer_id=cast["customers"][customer],
                   competitor_id=cast["competitors"][competitor], reported_on=BASE_DAY + timedelta(days=day),
                   claimed_price=Decimal(price) / 10_000, channel="call", reported_by_id=cast["reporter"],
                   status=PriceClaim.Status.DISMISSED if dismissed else PriceClaim.Status.PENDING)
        for product, customer, competitor, day, price, dismissed in rows
    ])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(rows=claim_rows, rule=db_rules, as_of_day=st.integers(0, 120), path=st.sampled_from(PATHS),
       split=st.integers(0, 10))
def test_the_sweep_and_the_checks_store_what_pure_detection_and_the_brute_force_find(
        cast, rows, rule, as_of_day, path, split):
    as_of = BASE_DAY + timedelta(days=as_of_day)
    with transaction.atomic():
        store_rule(rule)
        if path == "sweep":
            stored = store_claims(cast, rows)
            signals_detect(as_of=as_of)
        else:  # claims arrive one by one and each is checked; "sweep then checks": the first ones swept
            first = rows[:split] if path == "sweep then checks" else []
            stored = store_claims(cast, first)
            if first:
                signals_detect(as_of=as_of)
            for row in rows[len(first):]:
                [claim] = store_claims(cast, [row])
                stored.append(claim)
                assert price_claim_check(claim_id=claim.pk, as_of=as_of) == PriceClaim.objects.get(pk=claim.pk).status
        ids = [claim.pk for claim in stored]

        statuses, signals, dismissed = stored_outcome(ids)
        if path != "sweep":  # the checks left what a sweep leaves, and what a detection of every product leaves
            for products in (None, cast["products"]):  # the first may take a product as its checks left it
                again = signals_detect(as_of=as_of, products=products)
                assert (again.claims_changed, again.signals_created, again.signals_removed) == (0, 0, 0)
                assert stored_outcome(ids) == (statuses, signals, dismissed)
        # A later whole sweep, which detects again only the products whose claims changed since their last
        # whole detection (the checks keep that record in step), moves the rest by the date alone.
        signals_detect(as_of=as_of + timedelta(days=LATER_DAYS))
        later = stored_outcome(ids)
        transaction.set_rollback(True)

    claims = [(row[0], row[2], Claim(claim.pk, row[1], claim.reported_on, Decimal(claim.claimed_price), row[2]))
              for row, claim in zip(rows, stored, strict=True) if not row[5]]
    assert dismissed == [(PriceClaim.Status.DISMISSED, None)] * sum(row[5] for row in rows)
    event(f"{path}: {len(signals)} signals of up to {max(map(len, signals), default=0)} claims")
    event(f"statuses: {', '.join(sorted(set(statuses.values())))}")
    assert (statuses, signals) == pure_outcome(claims, rule, as_of)
    assert (statuses, signals) == brute_outcome(claims, rule, as_of)
    assert later[:2] == pure_outcome(claims, rule, as_of + timedelta(days=LATER_DAYS))
