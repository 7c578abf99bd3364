"""Stored claims as the sweep reads them (one binary COPY) and the differences it writes back."""

from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pytest
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing_signals import sql, stored_claims
from pricing_signals.models import MarketSignal, PriceClaim
from pricing_signals.services import price_claim_dismiss, signals_detect
from pricing_signals.stored_claims import SIGNAL_FIGURES, ClaimChanges, StoredClaims, _order_by, signals_create
from tests.factories import CompetitorFactory, CustomerFactory, ProductFactory
from tests.pricing_signals.conftest import YEAR_END, claim_on

pytestmark = pytest.mark.django_db


def columns(claims, ids):
    at = {pk: claims.position(pk) for pk in ids}
    return {name: [getattr(claims, name)[at[pk]] for pk in ids] for name in StoredClaims.COLUMNS}


def test_a_sweep_reads_every_claim_as_the_check_of_one_claim_reads_it(seed, product, pricing_manager):
    signals_detect(as_of=YEAR_END)
    other = ProductFactory()
    claim_on(other, CustomerFactory(), date(2026, 12, 1), "1234.5678", competitor=CompetitorFactory())
    price_claim_dismiss(user=pricing_manager, claim=seed["claims"]["april"], reason="a misread quote")
    ids = sorted(PriceClaim.objects.exclude(status="dismissed").values_list("pk", flat=True))

    whole = StoredClaims.whole()
    near = StoredClaims.near(product.pk, date(2000, 1, 1), date(2100, 1, 1))
    near.add(sql.claims_near(other.pk, date(2000, 1, 1), date(2100, 1, 1)))

    assert sorted(whole.ids) == ids  # the dismissed April claim is left out
    assert columns(whole, ids) == columns(near, ids)
    assert "corroborated" in whole.statuses and max(whole.prices) == 12_345_678
    assert whole.products == sorted(whole.products)  # grouped by product for the sweep


def test_claim_changes_are_the_claims_that_differ_in_id_order_with_copies_left_out(seed):
    claims = StoredClaims.whole()
    order = sorted(range(len(claims)), key=claims.ids.__getitem__)
    first, second, third = order[:3]
    statuses, signals = list(claims.statuses), list(claims.signals)
    statuses[third], statuses[first] = "unsubstantiated", "corroborated"
    signals[first] = 41
    statuses[second] = "unsubstantiated"

    changes = ClaimChanges.between(claims, statuses, signals, left_out={second})

    assert changes.ids.tolist() == [claims.ids[first], claims.ids[third]]
    assert [sql.CLAIM_STATUSES[code] for code in changes.statuses.tolist()] == ["corroborated", "unsubstantiated"]
    assert changes.signals.tolist() == [41, 0]
    assert changes.claims == len(claims) - 1
    kept = [status for at, status in enumerate(statuses) if at != second]
    assert changes.counts == {status: kept.count(status) for status in sql.CLAIM_STATUSES}
    assert changes.ids.dtype == np.int64


def test_no_change_is_nothing_to_write(seed):
    signals_detect(as_of=YEAR_END)
    claims = StoredClaims.whole()

    assert len(ClaimChanges.between(claims, claims.statuses, claims.signals)) == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-2**62, 2**62), st.integers(0, 3), st.integers(-40_000, 40_000)),
                min_size=1, max_size=60),
       st.booleans())
def test_claims_are_ordered_as_lexsort_orders_them_whatever_their_range(rows, narrow):
    if narrow:  # ids and day numbers as the sweep meets them: packed into one key
        rows = [(product % 5_000, competitor, day) for product, competitor, day in rows]
    products, competitors, days = (np.array(column, dtype=np.int64) for column in zip(*rows, strict=True))

    order = _order_by(products, competitors, days)

    assert order.tolist() == np.lexsort((days, competitors, products)).tolist()


@pytest.mark.parametrize("bulk_from", [1, 10**6])  # COPY from the figures, or bulk_create
def test_new_signals_store_their_figures_however_they_are_written(monkeypatch, bulk_from):
    product, competitor = ProductFactory(), CompetitorFactory()
    figures = [
        {"product_id": product.pk, "competitor_id": competitor.pk, "window_start": date(2026, 3, 2),
         "window_end": date(2026, 3, 30), "claim_count": 4, "customer_count": 3, "median_price": Decimal("9.8750"),
         "our_average_price": Decimal("12.1000"), "drop_percent": Decimal("18.4")},
        {"product_id": product.pk, "competitor_id": None, "window_start": date(2026, 5, 1),
         "window_end": date(2026, 5, 1), "claim_count": 3, "customer_count": 3, "median_price": Decimal("10.0000"),
         "our_average_price": None, "drop_percent": None},
    ]
    monkeypatch.setattr(stored_claims, "BULK_SIGNALS", bulk_from)

    ids = signals_create(figures, timezone.make_aware(datetime(2026, 12, 31, 3, 0)))

    stored = {row["id"]: row for row in MarketSignal.objects.values("id", "status", "decision", *SIGNAL_FIGURES)}
    assert [stored[pk] for pk in ids] == [
        {"id": pk, "status": "open", "decision": "", **values} for pk, values in zip(ids, figures, strict=True)]
