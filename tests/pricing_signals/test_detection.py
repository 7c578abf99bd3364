"""Detection as a pure function (docs/product.md, Market signals): witnessing sets, statuses, signals.

No database: these run with or without Django.
"""

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing_signals.detection import (
    CORROBORATED,
    PENDING,
    UNSUBSTANTIATED,
    Claim,
    Rule,
    detect,
    detect_columns,
    median_price,
    scaled_price,
    signal_figures,
)

RULE = Rule()  # the global default: 30 days, 3 customers, 2 %, any competitor
SEPTEMBER_END = date(2026, 9, 30)
YEAR_END = date(2026, 12, 31)


def claim(claim_id, customer, day, price, competitor=1):
    return Claim(claim_id, customer, day, Decimal(price), competitor)


def statuses(claims, rule=RULE, as_of=YEAR_END):
    return detect(claims, rule, as_of=as_of).statuses


def signal_sets(claims, rule=RULE, as_of=YEAR_END):
    return [set(signal.claim_ids) for signal in detect(claims, rule, as_of=as_of).signals]


# docs/product.md's seed scenario: one customer claims in April, June and September; September is echoed
# by two other customers within the window and the tolerance.
SEED = [
    claim(1, "SEED-001", date(2026, 4, 14), "11.40"),
    claim(2, "SEED-001", date(2026, 6, 10), "11.40"),
    claim(3, "SEED-001", date(2026, 9, 8), "11.40"),
    claim(4, "C-1002", date(2026, 9, 15), "11.45"),
    claim(5, "C-1003", date(2026, 9, 22), "11.38"),
]


def test_seed_scenario_september_becomes_a_signal_of_three_customers():
    result = detect(SEED, RULE, as_of=YEAR_END)

    assert [signal.claim_ids for signal in result.signals] == [(3, 4, 5)]
    signal = result.signals[0]
    assert (signal.window_start, signal.window_end) == (date(2026, 9, 8), date(2026, 9, 22))
    assert signal.customer_count == 3 and signal.claim_count == 3
    assert signal.median_price == Decimal("11.4000")


def test_seed_scenario_april_and_june_are_unsubstantiated():
    assert statuses(SEED) == {1: UNSUBSTANTIATED, 2: UNSUBSTANTIATED, 3: CORROBORATED, 4: CORROBORATED,
                              5: CORROBORATED}


def test_a_lone_claim_is_pending_while_its_window_lasts_and_unsubstantiated_after():
    lone = [claim(1, "A", date(2026, 6, 10), "11.40")]

    assert statuses(lone, as_of=date(2026, 6, 10)) == {1: PENDING}
    assert statuses(lone, as_of=date(2026, 7, 10)) == {1: PENDING}  # day 30: a claim today could still echo it
    assert statuses(lone, as_of=date(2026, 7, 11)) == {1: UNSUBSTANTIATED}


def test_claims_exactly_the_window_apart_witness():
    start = date(2026, 3, 1)
    claims = [claim(1, "A", start, "10.00"), claim(2, "B", start + timedelta(days=15), "10.00"),
              claim(3, "C", start + timedelta(days=30), "10.00")]

    assert set(statuses(claims).values()) == {CORROBORATED}


def test_claims_one_day_more_than_the_window_apart_do_not():
    start = date(2026, 3, 1)
    claims = [claim(1, "A", start, "10.00"), claim(2, "B", start + timedelta(days=15), "10.00"),
              claim(3, "C", start + timedelta(days=31), "10.00")]

    assert set(statuses(claims).values()) == {UNSUBSTANTIATED}


def test_prices_exactly_the_tolerance_apart_witness():
    day = date(2026, 3, 1)
    claims = [claim(1, "A", day, "10.00"), claim(2, "B", day, "10.10"), claim(3, "C", day, "10.20")]  # +2.00 %

    assert set(statuses(claims).values()) == {CORROBORATED}


def test_prices_a_hair_more_than_the_tolerance_apart_do_not():
    day = date(2026, 3, 1)
    claims = [claim(1, "A", day, "10.00"), claim(2, "B", day, "10.10"), claim(3, "C", day, "10.2001")]

    assert set(statuses(claims).values()) == {UNSUBSTANTIATED}


def test_one_customer_fewer_than_the_minimum_does_not_witness():
    day = date(2026, 3, 1)
    claims = [claim(1, "A", day, "10.00"), claim(2, "B", day, "10.00")]

    assert set(statuses(claims).values()) == {UNSUBSTANTIATED}
    assert detect(claims, RULE, as_of=YEAR_END).signals == ()


def test_one_customer_claiming_three_times_is_one_customer():
    day = date(2026, 3, 1)
    claims = [claim(i, "A", day + timedelta(days=i), "10.00") for i in range(1, 4)]

    assert set(statuses(claims).values()) == {UNSUBSTANTIATED}


def test_a_repeat_claim_by_a_witness_joins_the_signal_without_counting_twice():
    day = date(2026, 3, 1)
    claims = [claim(1, "A", day, "10.00"), claim(2, "A", day + timedelta(days=2), "10.05"),
              claim(3, "B", day + timedelta(days=4), "10.00"), claim(4, "C", day + timedelta(days=6), "10.10")]

    [signal] = detect(claims, RULE, as_of=YEAR_END).signals
    assert signal.claim_ids == (1, 2, 3, 4)
    assert (signal.claim_count, signal.customer_count) == (4, 3)
    assert signal.median_price == Decimal("10.0250")


def test_a_price_outside_the_tolerance_stays_out_of_a_signal_beside_it():
    day = date(2026, 3, 1)
    claims = [claim(1, "A", day, "10.00"), claim(2, "B", day, "10.05"), claim(3, "C", day, "10.10"),
              claim(4, "D", day, "9.00")]

    assert statuses(claims)[4] == UNSUBSTANTIATED
    assert signal_sets(claims) == [{1, 2, 3}]


def test_witnessing_sets_that_share_a_claim_form_one_signal():
    # Two groups of three, 25 days apart: claim 3 (day 20) belongs to both windows.
    start = date(2026, 3, 1)
    claims = [claim(1, "A", start, "10.00"), claim(2, "B", start + timedelta(days=10), "10.00"),
              claim(3, "C", start + timedelta(days=20), "10.00"), claim(4, "D", start + timedelta(days=40), "10.00"),
              claim(5, "E", start + timedelta(days=45), "10.00")]

    assert signal_sets(claims) == [{1, 2, 3, 4, 5}]
    [signal] = detect(claims, RULE, as_of=YEAR_END).signals
    assert (signal.window_start, signal.window_end) == (start, start + timedelta(days=45))


def test_witnessing_sets_that_share_no_claim_are_two_signals():
    start = date(2026, 3, 1)
    first = [claim(i, f"C{i}", start + timedelta(days=i), "10.00") for i in range(1, 4)]
    later = [claim(i, f"C{i}", start + timedelta(days=60 + i), "10.00") for i in range(4, 7)]

    assert signal_sets(first + later) == [{1, 2, 3}, {4, 5, 6}]


def test_a_claim_near_two_price_levels_joins_them_into_one_signal():
    day = date(2026, 3, 1)
    # 10.00 and 10.30 are 3 % apart; 10.15 is within 2 % of both, so it witnesses with each side.
    claims = [claim(1, "A", day, "10.00"), claim(2, "B", day, "10.05"), claim(3, "C", day, "10.15"),
              claim(4, "D", day, "10.25"), claim(5, "E", day, "10.30")]

    assert signal_sets(claims) == [{1, 2, 3, 4, 5}]


def test_same_competitor_rule_is_applied_by_grouping_claims_before_detection():
    # Detection sees one group; the caller splits by competitor when the rule says so (see group_key).
    rule = Rule(same_competitor=True)
    day = date(2026, 3, 1)
    claims = [claim(1, "A", day, "10.00", competitor=1), claim(2, "B", day, "10.00", competitor=2),
              claim(3, "C", day, "10.00", competitor=1)]

    by_competitor = {}
    for one in claims:
        by_competitor.setdefault(one.competitor, []).append(one)
    assert all(set(statuses(group, rule).values()) == {UNSUBSTANTIATED} for group in by_competitor.values())


def test_a_rule_with_a_longer_window_and_fewer_customers():
    rule = Rule(window_days=60, min_customers=2, tolerance_percent=Decimal("5"))
    claims = [claim(1, "A", date(2026, 4, 14), "11.40"), claim(2, "B", date(2026, 6, 10), "11.90")]

    assert set(statuses(claims, rule).values()) == {CORROBORATED}


def test_median_of_an_even_number_of_prices_is_the_mean_of_the_middle_two():
    assert median_price([Decimal("11.38"), Decimal("11.45"), Decimal("11.40"), Decimal("11.41")]) == Decimal(
        "11.4050")


def test_a_float_price_is_refused():
    with pytest.raises(TypeError):
        detect([Claim(1, "A", date(2026, 3, 1), 11.4)], RULE, as_of=YEAR_END)


def test_a_price_with_more_than_four_places_is_refused():
    with pytest.raises(ValueError):
        detect([Claim(1, "A", date(2026, 3, 1), Decimal("11.40001"))], RULE, as_of=YEAR_END)


# --- properties -------------------------------------------------------------------------------------

BASE_DAY = date(2026, 1, 1)


def claims_strategy(max_size=9):
    """Claims of a few customers over ~3 months at prices a few percent apart."""
    one = st.tuples(st.sampled_from("ABCDE"), st.integers(0, 90), st.integers(1000, 1060))
    return st.lists(one, max_size=max_size).map(
        lambda rows: [Claim(i + 1, customer, BASE_DAY + timedelta(days=day), Decimal(cents) / 100)
                      for i, (customer, day, cents) in enumerate(rows)]
    )


rules = st.builds(Rule, window_days=st.integers(0, 40), min_customers=st.integers(1, 4),
                  tolerance_percent=st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(2), Decimal("3.5")]))


def brute_force(claims, rule, as_of):
    """Every subset of the claims checked against docs/product.md's definition, literally."""
    witnessing = []
    for size in range(1, len(claims) + 1):
        for subset in combinations(claims, size):
            days = [c.reported_on for c in subset]
            prices = [c.price for c in subset]
            if ((max(days) - min(days)).days <= rule.window_days
                    and len({c.customer for c in subset}) >= rule.min_customers
                    and max(prices) * 100 <= min(prices) * (100 + rule.tolerance_percent)):
                witnessing.append({c.id for c in subset})
    corroborated = set().union(*witnessing) if witnessing else set()
    groups = []
    for members in witnessing:  # join witnessing sets that share a claim
        joined = [group for group in groups if group & members]
        for group in joined:
            groups.remove(group)
            members = members | group
        groups.append(members)
    result = {}
    for c in claims:
        if c.id in corroborated:
            result[c.id] = CORROBORATED
        elif as_of <= c.reported_on + timedelta(days=rule.window_days):
            result[c.id] = PENDING
        else:
            result[c.id] = UNSUBSTANTIATED
    return result, sorted(sorted(group) for group in groups)


@settings(max_examples=300, deadline=None)
@given(claims_strategy(), rules, st.integers(0, 150))
def test_detection_agrees_with_checking_every_subset(claims, rule, as_of_day):
    as_of = BASE_DAY + timedelta(days=as_of_day)
    expected_statuses, expected_signals = brute_force(claims, rule, as_of)

    result = detect(claims, rule, as_of=as_of)

    assert dict(result.statuses) == expected_statuses
    assert sorted(list(signal.claim_ids) for signal in result.signals) == expected_signals


@settings(max_examples=200, deadline=None)
@given(claims_strategy(max_size=30), rules, st.randoms(use_true_random=False))
def test_every_order_of_the_same_claims_gives_the_same_statuses_and_signals(claims, rule, random):
    shuffled = list(claims)
    random.shuffle(shuffled)

    assert detect(shuffled, rule, as_of=YEAR_END) == detect(claims, rule, as_of=YEAR_END)


@settings(max_examples=100, deadline=None)
@given(claims_strategy(max_size=25), rules, st.data())
def test_adding_a_claim_never_uncorroborates_another(claims, rule, data):
    if not claims:
        return
    extra = data.draw(claims_strategy(max_size=1).filter(bool))[0]._replace(id=len(claims) + 1)

    before = detect(claims, rule, as_of=YEAR_END)
    after = detect([*claims, extra], rule, as_of=YEAR_END)

    assert {i for i, s in before.statuses.items() if s == CORROBORATED} <= {
        i for i, s in after.statuses.items() if s == CORROBORATED}
    # Signals only grow or merge: every signal before lies inside one signal after.
    for signal in before.signals:
        assert any(set(signal.claim_ids) <= set(later.claim_ids) for later in after.signals)


COLUMN_EPOCH = date(2000, 1, 1)  # the stored claims' columns count days from here (pricing_signals/sql.py)


@settings(max_examples=200, deadline=None)
@given(claims_strategy(max_size=30), rules, st.integers(0, 150), st.randoms(use_true_random=False))
def test_detection_over_columns_agrees_with_detection_over_claims(claims, rule, as_of_day, random):
    """The columns the sweep and the claim check pass (days from another origin, prices in ten-thousandths,
    customers as numbers, in any order) give the statuses, signals and figures `detect` gives."""
    as_of = BASE_DAY + timedelta(days=as_of_day)
    order = list(claims)
    random.shuffle(order)
    customer_keys = {customer: number for number, customer in enumerate("ABCDE", start=7)}
    days = [(claim.reported_on - COLUMN_EPOCH).days for claim in order]
    prices = [scaled_price(claim.price) for claim in order]
    customers = [customer_keys[claim.customer] for claim in order]

    found = detect_columns(days, prices, customers, rule, as_of_day=(as_of - COLUMN_EPOCH).days)
    result = detect(claims, rule, as_of=as_of)

    assert {claim.id: status for claim, status in zip(order, found.statuses, strict=True)} == dict(result.statuses)
    by_columns = []
    for group in found.signals:
        assert group == sorted(group)
        figures = signal_figures(days, prices, customers, group)
        by_columns.append((tuple(sorted(order[at].id for at in group)),
                           COLUMN_EPOCH + timedelta(days=figures.first_day),
                           COLUMN_EPOCH + timedelta(days=figures.last_day),
                           figures.customer_count, figures.median_price, figures.claim_count))
    assert sorted(by_columns) == sorted(
        (signal.claim_ids, signal.window_start, signal.window_end, signal.customer_count, signal.median_price,
         signal.claim_count) for signal in result.signals)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(1, 10**9), min_size=1, max_size=12))
def test_the_median_of_a_signal_is_the_middle_price_or_the_mean_of_the_middle_two_rounded_half_up(scaled):
    prices = [Decimal(price) / 10_000 for price in scaled]
    ordered = sorted(prices)
    middle = len(ordered) // 2
    expected = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2

    assert median_price(prices) == expected.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    assert signal_figures([0] * len(scaled), scaled, [1] * len(scaled), list(range(len(scaled)))).median_price == (
        median_price(prices))
