"""Detection over the stored claims: the sweep, the check of one claim, identity and decisions kept."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from pricing_signals.models import MarketSignal, PriceClaim
from pricing_signals.services import market_signal_acknowledge, market_signal_decide, price_claim_check, signals_detect
from pricing_signals.services.sweep import signals_detect_rebuilding_indexes
from tests.factories import (
    CompetitorFactory,
    CustomerFactory,
    DetectionRuleFactory,
    PriceClaimFactory,
    ProductFactory,
)
from tests.pricing_signals.conftest import YEAR_END, agreement_for, claim_on

pytestmark = pytest.mark.django_db


def statuses(claims):
    return {name: PriceClaim.objects.get(pk=claim.pk).status for name, claim in claims.items()}


def test_seed_scenario_makes_one_signal_of_september_with_three_customers(seed, product):
    signals_detect(as_of=YEAR_END)

    signal = MarketSignal.objects.get()
    assert (signal.product, signal.window_start, signal.window_end) == (product, date(2026, 9, 8), date(2026, 9, 22))
    assert (signal.claim_count, signal.customer_count, signal.median_price) == (3, 3, Decimal("11.4000"))
    assert signal.status == MarketSignal.Status.OPEN
    assert set(signal.claims.values_list("pk", flat=True)) == {
        seed["claims"][name].pk for name in ("september", "echo_one", "echo_two")}


def test_seed_scenario_leaves_april_and_june_unsubstantiated(seed):
    signals_detect(as_of=YEAR_END)

    assert statuses(seed["claims"]) == {"april": "unsubstantiated", "june": "unsubstantiated",
                                        "september": "corroborated", "echo_one": "corroborated",
                                        "echo_two": "corroborated"}


def test_signal_carries_our_average_net_price_and_the_drop(seed, product):
    agreement_for(CustomerFactory(), product, net_price="12.10")
    agreement_for(CustomerFactory(), product, net_price="12.50")
    agreement_for(CustomerFactory(), product, net_price="99.00", status="terminated",
                  terminated_on=date(2026, 6, 30))  # not active: not ours today

    signals_detect(as_of=YEAR_END)

    signal = MarketSignal.objects.get()
    assert signal.our_average_price == Decimal("12.3000")
    assert signal.drop_percent == Decimal("7.32")  # (12.30 - 11.40) / 12.30


def test_our_average_uses_the_price_in_force_on_the_as_of_date(seed, product):
    agreement = agreement_for(CustomerFactory(), product, net_price="12.10")
    agreement.prices.create(product=product, effective_from=date(2026, 11, 1), net_price=Decimal("11.90"),
                            reason="review")

    signals_detect(as_of=date(2026, 10, 31))
    assert MarketSignal.objects.get().our_average_price == Decimal("12.1000")
    signals_detect(as_of=YEAR_END)
    assert MarketSignal.objects.get().our_average_price == Decimal("11.9000")


def test_running_detection_twice_changes_nothing(seed):
    first = signals_detect(as_of=YEAR_END)
    signal = MarketSignal.objects.get()
    stored = list(PriceClaim.objects.order_by("pk").values_list("pk", "status", "signal_id"))

    again = signals_detect(as_of=YEAR_END)

    assert first.claims_changed == 5 and first.signals_created == 1
    assert (again.claims_changed, again.signals_created, again.signals_updated, again.signals_removed) == (0, 0, 0, 0)
    assert list(PriceClaim.objects.order_by("pk").values_list("pk", "status", "signal_id")) == stored
    assert MarketSignal.objects.get().updated_at == signal.updated_at


def test_claims_inside_their_window_stay_pending_until_it_passes(product):
    customer = CustomerFactory()
    claim = claim_on(product, customer, date(2026, 9, 8))

    signals_detect(as_of=date(2026, 10, 8))
    assert PriceClaim.objects.get(pk=claim.pk).status == "pending"
    signals_detect(as_of=date(2026, 10, 9))
    assert PriceClaim.objects.get(pk=claim.pk).status == "unsubstantiated"


def test_check_of_the_last_claim_gives_the_same_result_as_the_sweep(seed):
    for name in ("april", "june", "september", "echo_one", "echo_two"):
        price_claim_check(claim_id=seed["claims"][name].pk, as_of=YEAR_END)
    checked = list(PriceClaim.objects.order_by("pk").values_list("status", "signal_id"))

    result = signals_detect(as_of=YEAR_END)

    assert result.claims_changed == 0 and result.signals_created == 0
    assert list(PriceClaim.objects.order_by("pk").values_list("status", "signal_id")) == checked
    assert MarketSignal.objects.count() == 1


def test_check_returns_the_claims_status_as_claims_arrive(product):
    days = (date(2026, 9, 8), date(2026, 9, 15), date(2026, 9, 22))
    answers = []
    for day, price in zip(days, ("11.40", "11.45", "11.38"), strict=True):
        claim = claim_on(product, CustomerFactory(), day, price)
        answers.append(price_claim_check(claim_id=claim.pk, as_of=day))

    assert answers == ["pending", "pending", "corroborated"]
    assert set(PriceClaim.objects.values_list("status", flat=True)) == {"corroborated"}
    assert price_claim_check(claim_id=10**9, as_of=YEAR_END) is None


def test_a_new_claim_that_extends_a_signal_keeps_its_identity_and_updates_its_figures(seed, product):
    signals_detect(as_of=YEAR_END)
    signal = MarketSignal.objects.get()

    late = claim_on(product, CustomerFactory(), date(2026, 10, 1), "11.42")
    price_claim_check(claim_id=late.pk, as_of=YEAR_END)

    signal.refresh_from_db()
    assert MarketSignal.objects.count() == 1
    assert PriceClaim.objects.get(pk=late.pk).signal == signal
    assert (signal.window_end, signal.claim_count, signal.customer_count) == (date(2026, 10, 1), 4, 4)
    assert signal.median_price == Decimal("11.4100")


def test_a_signal_with_a_decision_keeps_it_when_new_claims_join(seed, product, pricing_manager):
    signals_detect(as_of=YEAR_END)
    signal = market_signal_decide(user=pricing_manager, signal=MarketSignal.objects.get(), decision="hold",
                                  reason="volume too small to matter")

    late = claim_on(product, CustomerFactory(), date(2026, 9, 30), "11.39")
    price_claim_check(claim_id=late.pk, as_of=YEAR_END)
    signals_detect(as_of=YEAR_END)

    signal.refresh_from_db()
    assert (signal.status, signal.decision, signal.decision_reason) == ("held", "hold", "volume too small to matter")
    assert signal.claim_count == 4
    assert PriceClaim.objects.get(pk=late.pk).signal == signal


def _two_signals_and_a_bridge(product):
    """Two signals 40 days apart; a claim in between would join them."""
    first = [claim_on(product, CustomerFactory(), date(2026, 3, 1) + timedelta(days=i), "10.00") for i in range(3)]
    second = [claim_on(product, CustomerFactory(), date(2026, 4, 10) + timedelta(days=i), "10.00") for i in range(3)]
    return first, second


def test_a_claim_that_bridges_two_signals_merges_them_into_the_older_one(product):
    first, second = _two_signals_and_a_bridge(product)
    signals_detect(as_of=YEAR_END)
    older, newer = MarketSignal.objects.order_by("window_start")
    assert older.pk < newer.pk

    # With the first signal's last two claims and the second's first, the bridge makes two witnessing
    # sets that share it (and its customer): 3 Mar..21 Mar and 21 Mar..10 Apr.
    bridge_customer = CustomerFactory()
    bridge = claim_on(product, bridge_customer, date(2026, 3, 21), "10.00")
    price_claim_check(claim_id=bridge.pk, as_of=YEAR_END)

    assert list(MarketSignal.objects.values_list("pk", flat=True)) == [older.pk]
    older.refresh_from_db()
    assert (older.window_start, older.window_end, older.claim_count) == (date(2026, 3, 1), date(2026, 4, 12), 7)
    assert signals_detect(as_of=YEAR_END).claims_changed == 0


def test_when_merged_signals_were_both_acted_on_the_decided_one_carries_the_claims(product, pricing_manager):
    _two_signals_and_a_bridge(product)
    signals_detect(as_of=YEAR_END)
    older, newer = MarketSignal.objects.order_by("window_start")
    market_signal_acknowledge(user=pricing_manager, signal=older)
    market_signal_decide(user=pricing_manager, signal=newer, decision="hold", reason="watching")

    bridge = claim_on(product, CustomerFactory(), date(2026, 3, 21), "10.00")
    price_claim_check(claim_id=bridge.pk, as_of=YEAR_END)

    newer.refresh_from_db()
    older.refresh_from_db()
    # A decision outranks an acknowledgement: the held signal carries on; the other stays on record.
    assert newer.claims.count() == 7 and (newer.status, newer.decision) == ("held", "hold")
    assert older.merged_into == newer and older.status == "acknowledged" and older.claims.count() == 0


def test_the_sweep_keeps_the_open_signal_whose_claims_it_mostly_had(product):
    first, second = _two_signals_and_a_bridge(product)
    signals_detect(as_of=YEAR_END)
    older = MarketSignal.objects.order_by("window_start").first()
    claim_on(product, CustomerFactory(), date(2026, 3, 21), "10.00")  # saved, never checked

    result = signals_detect(as_of=YEAR_END)

    assert result.signals_removed == 1
    assert list(MarketSignal.objects.values_list("pk", flat=True)) == [older.pk]


def test_a_product_line_override_applies_to_its_products_only(product):
    other = ProductFactory()
    DetectionRuleFactory(product_line=other.product_line, min_customers=2)
    for target in (product, other):
        claim_on(target, CustomerFactory(), date(2026, 9, 1))
        claim_on(target, CustomerFactory(), date(2026, 9, 2))

    signals_detect(as_of=YEAR_END)

    assert set(PriceClaim.objects.filter(product=other).values_list("status", flat=True)) == {"corroborated"}
    assert set(PriceClaim.objects.filter(product=product).values_list("status", flat=True)) == {"unsubstantiated"}


def test_same_competitor_rule_keeps_competitors_apart(product):
    DetectionRuleFactory(product_line=product.product_line, same_competitor=True)
    apex, budget = CompetitorFactory(name="Apex Supply"), CompetitorFactory(name="Budget Bolt Direct")
    for i, competitor in enumerate((apex, apex, budget)):
        claim_on(product, CustomerFactory(), date(2026, 9, 1 + i), competitor=competitor)

    signals_detect(as_of=YEAR_END)
    assert MarketSignal.objects.count() == 0

    claim_on(product, CustomerFactory(), date(2026, 9, 5), competitor=apex)
    signals_detect(as_of=YEAR_END)
    signal = MarketSignal.objects.get()
    assert signal.competitor == apex and signal.claim_count == 3


def test_dismissed_claims_take_no_part(seed):
    PriceClaim.objects.filter(pk=seed["claims"]["echo_two"].pk).update(status="dismissed")

    signals_detect(as_of=YEAR_END)

    assert MarketSignal.objects.count() == 0
    assert PriceClaim.objects.get(pk=seed["claims"]["echo_two"].pk).status == "dismissed"


def test_a_check_of_a_claim_leaves_other_products_alone(seed, product):
    other = ProductFactory()
    far = [PriceClaimFactory(product=other, customer=CustomerFactory(), reported_on=date(2026, 9, 10))
           for _ in range(3)]

    price_claim_check(claim_id=seed["claims"]["echo_two"].pk, as_of=YEAR_END)

    assert {PriceClaim.objects.get(pk=c.pk).status for c in far} == {"pending"}


def test_detection_in_two_processes_gives_what_one_process_gives():
    for p in range(4):
        product = ProductFactory()
        for i in range(9):
            claim_on(product, CustomerFactory(), date(2026, 3, 1) + timedelta(days=(i // 3) * 40 + i % 3 + p),
                     "10.00" if i % 4 else "10.15")

    forked = signals_detect(as_of=YEAR_END, workers=2)
    again = signals_detect(as_of=YEAR_END, workers=1)

    assert forked.signals_created == 12 and forked.corroborated == 36
    assert (again.claims_changed, again.signals_created, again.signals_updated) == (0, 0, 0)


def thousand_clusters(first_day=date(2000, 1, 1)):
    """1,100 clusters of three claims of one product, 40 days apart: one signal each (the bulk paths start
    at 1,000 rows)."""
    product = ProductFactory()
    customers = [CustomerFactory() for _ in range(3)]
    manager = customers[0].account_manager
    competitor = CompetitorFactory()
    PriceClaim.objects.bulk_create([
        PriceClaim(customer=customers[i % 3], product=product, competitor=competitor, claimed_price=Decimal("10.00"),
                   reported_on=first_day + timedelta(days=40 * (i // 3) + i % 3), channel="call",
                   reported_by=manager)
        for i in range(3300)
    ])
    return product


def assert_thousand_clusters_detected(result):
    assert (result.signals_created, result.claims_changed, result.corroborated) == (1100, 3300, 3300)
    assert MarketSignal.objects.count() == 1100
    assert set(MarketSignal.objects.values_list("claim_count", "customer_count", "median_price", "status")) == {
        (3, 3, Decimal("10.0000"), "open")}
    assert PriceClaim.objects.values("signal").distinct().count() == 1100
    assert signals_detect(as_of=YEAR_END).claims_changed == 0


def test_a_sweep_that_makes_over_a_thousand_signals_writes_them_all_in_bulk():
    thousand_clusters()
    indexes_before, keys_before = claim_table_indexes(), claim_table_foreign_keys()

    result = signals_detect(as_of=YEAR_END)

    # Every claim changed, and still the sweep never touches the schema: the same index objects and keys.
    assert claim_table_indexes() == indexes_before
    assert claim_table_foreign_keys() == keys_before
    assert_thousand_clusters_detected(result)


def test_the_operators_first_detection_of_a_bulk_import_rebuilds_the_indexes_and_keys():
    thousand_clusters()
    indexes_before, keys_before = claim_table_indexes(), claim_table_foreign_keys()

    result = signals_detect_rebuilding_indexes(as_of=YEAR_END)

    # Every claim changed: the indexes were rebuilt and the keys checked at once, and are back as they were.
    assert claim_table_indexes().keys() == indexes_before.keys()
    assert set(claim_table_indexes().values()) != set(indexes_before.values())  # rebuilt: new index objects
    assert claim_table_foreign_keys() == keys_before
    assert_thousand_clusters_detected(result)


@pytest.mark.parametrize("detect", [signals_detect, signals_detect_rebuilding_indexes],
                         ids=["sweep", "operators-rebuild"])
def test_a_sweep_that_changes_a_small_share_of_many_claims_keeps_the_indexes(detect):
    customers = [CustomerFactory() for _ in range(3)]
    competitor = CompetitorFactory()

    def clusters(count, product, first_day=date(1990, 1, 1)):
        PriceClaim.objects.bulk_create([
            PriceClaim(customer=customers[i % 3], product=product, competitor=competitor,
                       claimed_price=Decimal("10.00"), reported_on=first_day + timedelta(days=40 * (i // 3) + i % 3),
                       channel="call", reported_by=customers[0].account_manager)
            for i in range(count)
        ])

    clusters(4500, ProductFactory())
    signals_detect(as_of=YEAR_END)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {PriceClaim._meta.db_table}")
    clusters(1200, ProductFactory())  # 1,200 changes of 5,700 claims: maintained row by row
    indexes_before = claim_table_indexes()

    result = detect(as_of=YEAR_END)

    assert (result.claims_changed, result.signals_created) == (1200, 400)
    assert claim_table_indexes() == indexes_before
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {PriceClaim._meta.db_table} SET signal_id = -1 WHERE id = %s",
                       [PriceClaim.objects.first().pk])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def claim_table_indexes():
    """Index name -> its object id in the catalog (a rebuilt index is a new object)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexrelid::regclass::text, indexrelid FROM pg_index WHERE indrelid = %s::regclass",
                       [PriceClaim._meta.db_table])
        return dict(cursor.fetchall())


def claim_table_foreign_keys():
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype = 'f'", [PriceClaim._meta.db_table])
        return dict(cursor.fetchall())


def stored_outcome():
    """Every claim's status and its signal's claims, and every signal's figures: all but ids."""
    groups = {}
    for pk, signal in PriceClaim.objects.filter(signal__isnull=False).values_list("pk", "signal_id"):
        groups.setdefault(signal, set()).add(pk)
    figures = {frozenset(groups[pk]): figures for pk, *figures in MarketSignal.objects.values_list(
        "pk", "product_id", "competitor_id", "window_start", "window_end", "claim_count", "customer_count",
        "median_price", "our_average_price", "drop_percent", "status")}
    return dict(PriceClaim.objects.values_list("pk", "status")), figures


@pytest.mark.parametrize("workers", [1, 2])
def test_the_operators_first_detection_stores_what_the_sweep_stores(workers):
    line_rule = DetectionRuleFactory(product_line=ProductFactory().product_line, same_competitor=True)
    competitors = [CompetitorFactory(), CompetitorFactory()]
    customers = [CustomerFactory() for _ in range(4)]
    products = [ProductFactory(), ProductFactory(product_line=line_rule.product_line), ProductFactory()]
    for p, product in enumerate(products):
        agreement_for(customers[p], product, net_price="12.00")
        for i in range(40):  # clusters, bluffs between them, and claims still inside their window
            if i < 36:
                day, price = date(2025, 1, 5) + timedelta(days=40 * (i // 4) + i % 4 + p), "10.00" if i % 5 else "13.10"
            else:
                day, price = YEAR_END - timedelta(days=i - 36), f"{i}.00"
            claim_on(product, customers[i % 4], day, price, competitor=competitors[i % 2])

    with transaction.atomic():
        first = signals_detect_rebuilding_indexes(as_of=YEAR_END, workers=workers)
        written = stored_outcome()
        transaction.set_rollback(True)
    swept = signals_detect(as_of=YEAR_END)

    assert written == stored_outcome()
    assert (first.claims, first.claims_changed, first.corroborated, first.pending, first.unsubstantiated,
            first.signals_created) == (swept.claims, swept.claims_changed, swept.corroborated, swept.pending,
                                       swept.unsubstantiated, swept.signals_created)
    assert first.signals_created > 3 and first.pending > 0 and first.unsubstantiated > 0
    assert signals_detect(as_of=YEAR_END).claims_changed == 0
