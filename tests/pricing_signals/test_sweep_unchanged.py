"""The whole sweep detects again only the products whose claims or rule changed since their last whole
detection; the others' claims only move between pending and unsubstantiated by the date. Each test checks
that a detection of every product named (which never skips one) then finds nothing to change."""

from datetime import date
from decimal import Decimal

import pytest

from pricing_signals import stored_claims
from pricing_signals.models import DetectionRule, MarketSignal, PriceClaim, SweptProduct
from pricing_signals.services import price_claim_check, signals_detect
from tests.factories import CustomerFactory, ProductFactory
from tests.pricing_signals.conftest import YEAR_END, agreement_for, claim_on

pytestmark = pytest.mark.django_db

APRIL_20, MAY_20 = date(2026, 4, 20), date(2026, 5, 20)


@pytest.fixture
def read_products(monkeypatch):
    """The products whose claims each sweep reads (None: all of them), one list per sweep."""
    calls = []
    whole = stored_claims.StoredClaims.whole.__func__

    def spy(cls, products=None):
        calls.append(None if products is None else sorted(products))
        return whole(cls, products)

    monkeypatch.setattr(stored_claims.StoredClaims, "whole", classmethod(spy))
    return calls


def status_of(claim):
    return PriceClaim.objects.get(pk=claim.pk).status


def assert_as_detection_of_every_product(as_of):
    again = signals_detect(as_of=as_of, products=list(PriceClaim.objects.values_list("product_id", flat=True)))
    assert (again.claims_changed, again.signals_created, again.signals_updated, again.signals_removed) == (0, 0, 0, 0)


def test_a_later_sweep_reads_no_claim_of_an_unchanged_product_and_moves_april_by_the_date(seed, read_products):
    signals_detect(as_of=APRIL_20)
    assert status_of(seed["claims"]["april"]) == "pending"

    result = signals_detect(as_of=MAY_20)

    assert read_products == [None, []]
    assert status_of(seed["claims"]["april"]) == "unsubstantiated"
    assert (result.claims, result.claims_changed, result.corroborated, result.pending, result.unsubstantiated) == (
        5, 1, 3, 1, 1)  # june is still in the future of May 20th: pending
    assert_as_detection_of_every_product(MAY_20)


def test_an_earlier_date_moves_unsubstantiated_claims_back_to_pending(seed):
    signals_detect(as_of=YEAR_END)

    signals_detect(as_of=APRIL_20)

    assert status_of(seed["claims"]["april"]) == "pending"
    assert status_of(seed["claims"]["june"]) == "pending"
    assert_as_detection_of_every_product(APRIL_20)


def test_a_claim_saved_without_its_check_is_detected_with_its_product_only(seed, product, read_products):
    other = ProductFactory()
    claim_on(other, CustomerFactory(), date(2026, 3, 2), "7.00")
    signals_detect(as_of=YEAR_END)
    # Two more customers echo April, their checks never ran (the broker was down).
    for day in (date(2026, 4, 16), date(2026, 4, 20)):
        claim_on(product, CustomerFactory(), day, "11.41", check_pending=True)

    signals_detect(as_of=YEAR_END)

    assert read_products[-1] == [product.pk]
    assert status_of(seed["claims"]["april"]) == "corroborated"
    assert MarketSignal.objects.count() == 2
    assert_as_detection_of_every_product(YEAR_END)


def test_a_claim_changed_in_place_is_detected(seed):
    signals_detect(as_of=YEAR_END)
    PriceClaim.objects.filter(pk=seed["claims"]["echo_two"].pk).update(claimed_price=Decimal("9.00"))

    result = signals_detect(as_of=YEAR_END)

    assert status_of(seed["claims"]["september"]) == "unsubstantiated"
    assert result.signals_removed == 1 and not MarketSignal.objects.exists()
    assert_as_detection_of_every_product(YEAR_END)


def test_a_changed_rule_is_detected(seed):
    signals_detect(as_of=YEAR_END)
    DetectionRule.objects.update_or_create(product_line=None, defaults={"window_days": 30, "min_customers": 4})

    signals_detect(as_of=YEAR_END)

    assert status_of(seed["claims"]["september"]) == "unsubstantiated"
    assert SweptProduct.objects.get().min_customers == 4
    assert_as_detection_of_every_product(YEAR_END)


def test_a_status_written_by_hand_is_put_right(seed):
    signals_detect(as_of=YEAR_END)
    PriceClaim.objects.filter(pk=seed["claims"]["september"].pk).update(status="pending", signal=None)
    PriceClaim.objects.filter(pk=seed["claims"]["june"].pk).update(status="pending")

    result = signals_detect(as_of=YEAR_END)

    assert (status_of(seed["claims"]["september"]), status_of(seed["claims"]["june"])) == (
        "corroborated", "unsubstantiated")
    assert result.claims_changed == 2
    assert_as_detection_of_every_product(YEAR_END)


def test_an_unchanged_product_still_gets_our_new_average_price(seed, product):
    agreement = agreement_for(CustomerFactory(), product, net_price="12.10")
    agreement.prices.create(product=product, effective_from=date(2026, 11, 1), net_price=Decimal("11.90"),
                            reason="review")
    signals_detect(as_of=date(2026, 10, 31))

    result = signals_detect(as_of=YEAR_END)

    signal = MarketSignal.objects.get()
    assert (signal.our_average_price, signal.drop_percent) == (Decimal("11.9000"), Decimal("4.20"))
    assert result.signals_updated == 1
    assert_as_detection_of_every_product(YEAR_END)


def test_an_open_signal_left_without_claims_is_removed(seed, product):
    signals_detect(as_of=YEAR_END)
    MarketSignal.objects.create(product=product, window_start=date(2026, 1, 5), window_end=date(2026, 1, 9),
                                median_price=Decimal("10.0000"))

    result = signals_detect(as_of=YEAR_END)

    assert result.signals_removed == 1 and MarketSignal.objects.count() == 1


def test_a_claim_checked_in_the_day_leaves_its_product_to_the_date_only(seed, product, read_products):
    signals_detect(as_of=YEAR_END)
    # Two more customers echo April, each checked as it arrives.
    for day in (date(2026, 4, 16), date(2026, 4, 20)):
        price_claim_check(claim_id=claim_on(product, CustomerFactory(), day, "11.41").pk, as_of=YEAR_END)
    assert status_of(seed["claims"]["april"]) == "corroborated"

    result = signals_detect(as_of=YEAR_END)

    assert read_products[-1] == []
    assert (result.claims, result.claims_changed, result.corroborated) == (7, 0, 6)
    assert_as_detection_of_every_product(YEAR_END)


def test_a_check_after_a_change_it_did_not_make_leaves_the_product_to_the_sweep(seed, product):
    signals_detect(as_of=YEAR_END)
    PriceClaim.objects.filter(pk=seed["claims"]["echo_two"].pk).update(claimed_price=Decimal("9.00"))
    price_claim_check(claim_id=claim_on(product, CustomerFactory(), date(2026, 2, 2), "15.00").pk, as_of=YEAR_END)

    signals_detect(as_of=YEAR_END)

    assert status_of(seed["claims"]["september"]) == "unsubstantiated"
    assert not MarketSignal.objects.exists()
    assert_as_detection_of_every_product(YEAR_END)


def test_a_claim_checked_twice_leaves_its_product_to_the_sweep(seed, product, read_products):
    signals_detect(as_of=YEAR_END)
    claim = claim_on(product, CustomerFactory(), date(2026, 4, 16), "11.41")
    price_claim_check(claim_id=claim.pk, as_of=YEAR_END)
    price_claim_check(claim_id=claim.pk, as_of=YEAR_END)  # its task ran twice: counted in twice

    result = signals_detect(as_of=YEAR_END)

    assert read_products[-1] is None  # detected again, its only product: every claim read
    assert result.claims_changed == 0
    assert SweptProduct.objects.get().claim_count == 6
    assert_as_detection_of_every_product(YEAR_END)
