"""outlook/valuation.py without a database: Pareto value tiers and the risk factors, each in points and words."""

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outlook.valuation import CustomerFacts, RiskRules, risk_score, value_tiers

AS_OF = date(2026, 11, 30)
RULES = RiskRules()
SHARES = {"a_share": Decimal("0.80"), "b_share": Decimal("0.95")}


def facts(**changes):
    base = {"net_purchases": Decimal("100000.00"), "net_purchases_before": Decimal("100000.00"),
            "claims_below_net_net": 0, "open_signals": 0, "unpaid_rebate": Decimal("5000.00"), "term_ends_on": None}
    return CustomerFacts(**{**base, **changes})


def test_the_customers_making_the_first_80_percent_are_a_the_next_15_b_the_rest_c():
    purchases = {1: Decimal("600"), 2: Decimal("250"), 3: Decimal("100"), 4: Decimal("30"), 5: Decimal("20")}
    # 1 starts at 0%, 2 at 60% (crosses 80%: still A), 3 at 85% (B), 4 at 95% and 5 at 98% (C).
    assert value_tiers(purchases, **SHARES) == {1: "A", 2: "A", 3: "B", 4: "C", 5: "C"}


def test_a_customer_who_bought_nothing_or_returned_more_is_c():
    assert value_tiers({1: Decimal("0"), 2: Decimal("-50"), 3: Decimal("10")}, **SHARES) == {1: "C", 2: "C", 3: "A"}


def test_ties_are_ranked_by_id_whatever_the_order_read():
    forward = value_tiers({1: Decimal("50"), 2: Decimal("50")}, **SHARES)
    backward = value_tiers({2: Decimal("50"), 1: Decimal("50")}, **SHARES)
    assert forward == backward == {1: "A", 2: "A"}


# A loaded machine makes the first draws slow; the property, not the speed, is what is tested.
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.integers(1, 500), st.decimals(min_value=-100, max_value=10**6, places=2), max_size=60))
def test_tier_a_buys_at_least_its_share_and_every_a_outbuys_every_b_and_c(purchases):
    tiers = value_tiers(purchases, **SHARES)
    assert set(tiers) == set(purchases)
    positive = sum((v for v in purchases.values() if v > 0), Decimal(0))
    a_total = sum((purchases[k] for k, tier in tiers.items() if tier == "A"), Decimal(0))
    if positive > 0:
        assert a_total >= positive * SHARES["a_share"]
    a_least = min((purchases[k] for k, t in tiers.items() if t == "A"), default=None)
    others_most = max((purchases[k] for k, t in tiers.items() if t != "A"), default=None)
    if a_least is not None and others_most is not None:
        assert a_least >= others_most


def test_a_customer_with_no_factor_is_low_risk_with_no_reasons():
    risk = risk_score(facts(), rules=RULES, as_of=AS_OF)
    assert (risk.level, risk.points, risk.reasons()) == ("low", 0, [])


def test_purchases_falling_a_third_against_last_year_count_30_points_in_words():
    risk = risk_score(facts(net_purchases=Decimal("66000.00")), rules=RULES, as_of=AS_OF)
    assert risk.reasons() == [{"factor": "falling_volume", "points": 30, "words":
                               "Purchases fell 34.0% against the year before ($66,000.00 in the last 12 months, "
                               "$100,000.00 in the 12 before)."}]
    assert (risk.level, risk.points) == ("medium", 30)


def test_a_small_fall_counts_15_points_and_a_new_customer_is_not_falling():
    assert risk_score(facts(net_purchases=Decimal("88000.00")), rules=RULES, as_of=AS_OF).points == 15
    assert risk_score(facts(net_purchases=Decimal("95000.00")), rules=RULES, as_of=AS_OF).points == 0
    assert risk_score(facts(net_purchases_before=Decimal("0")), rules=RULES, as_of=AS_OF).points == 0


def test_claims_below_net_net_count_15_each_up_to_30():
    one = risk_score(facts(claims_below_net_net=1), rules=RULES, as_of=AS_OF)
    assert one.reasons()[0]["words"] == "1 competitor price claim below their net-net price in the last 90 days."
    assert one.points == 15
    assert risk_score(facts(claims_below_net_net=5), rules=RULES, as_of=AS_OF).points == 30


def test_open_signals_count_10_each_up_to_20():
    assert risk_score(facts(open_signals=1), rules=RULES, as_of=AS_OF).points == 10
    assert risk_score(facts(open_signals=4), rules=RULES, as_of=AS_OF).reasons() == [
        {"factor": "open_signals", "points": 20, "words": "Exposed to 4 open market signals."}]


def test_little_rebate_at_stake_is_cheap_to_leave():
    risk = risk_score(facts(unpaid_rebate=Decimal("400.00")), rules=RULES, as_of=AS_OF)
    assert risk.reasons() == [{"factor": "little_at_stake", "points": 15, "words": (
        "Only $400.00 of unpaid rebate at stake (0.4% of the year's purchases): cheap to leave.")}]
    assert risk_score(facts(unpaid_rebate=Decimal("1000.00")), rules=RULES, as_of=AS_OF).points == 0


def test_a_term_ending_within_90_days_counts_20_points():
    ending = risk_score(facts(term_ends_on=date(2026, 12, 31)), rules=RULES, as_of=AS_OF)
    assert ending.reasons() == [{"factor": "term_ending", "points": 20,
                                 "words": "An agreement's term ends on 2026-12-31, in 31 days."}]
    assert risk_score(facts(term_ends_on=date(2027, 12, 31)), rules=RULES, as_of=AS_OF).points == 0


def test_factors_add_up_to_high_risk_largest_first():
    risk = risk_score(facts(net_purchases=Decimal("60000.00"), claims_below_net_net=1, open_signals=1,
                            unpaid_rebate=Decimal("100.00"), term_ends_on=date(2026, 12, 31)), rules=RULES, as_of=AS_OF)
    assert [r["factor"] for r in risk.reasons()] == ["falling_volume", "term_ending", "claims_below_net_net",
                                                     "little_at_stake", "open_signals"]
    assert (risk.points, risk.level) == (30 + 20 + 15 + 15 + 10, "high")


def test_rules_read_from_settings_names_and_refuse_unknown_ones():
    rules = RiskRules.from_settings({"HIGH_POINTS": 50, "AT_STAKE_PERCENT": "2.5"})
    assert rules.high_points == 50 and rules.at_stake_percent == Decimal("2.5")
    try:
        RiskRules.from_settings({"NO_SUCH": 1})
    except ValueError as error:
        assert "NO_SUCH" in str(error)
    else:
        raise AssertionError("an unknown setting was accepted")
