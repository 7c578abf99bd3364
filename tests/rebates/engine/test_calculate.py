from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from rebates.engine import AgreementTerms, Band, PurchaseLine, RebateRule, calculate, rebate_per_unit

YEAR_END = date(2026, 12, 31)
SEED_RULE = RebateRule(kind="per_unit", rate=Decimal("0.25"))
TIERS = (
    Band(Decimal("0"), Decimal("1")),
    Band(Decimal("1000"), Decimal("2")),
    Band(Decimal("5000"), Decimal("3")),
)
RETROACTIVE = RebateRule(
    kind="tiered", rate_type="percent", tier_basis="quantity", tier_method="retroactive", bands=TIERS
)


def month(number: int, year: int = 2026) -> date:
    return date(year, number, 1)


def term(rule: RebateRule = SEED_RULE, **kwargs) -> AgreementTerms:
    return AgreementTerms(start_month=month(1), end_month=month(12), rule=rule, **kwargs)


def bought(quantities: dict[int, int], price: str = "12.10") -> list[PurchaseLine]:
    return [PurchaseLine(month(m), Decimal(q), Decimal(q) * Decimal(price)) for m, q in quantities.items()]


def ten_a_month(price: str = "12.10") -> list[PurchaseLine]:
    return bought(dict.fromkeys(range(1, 13), 10), price)


def amounts(results) -> list[Decimal]:
    return [r.amount for r in results]


def test_every_month_from_start_to_as_of_has_a_result_even_without_purchases():
    results = calculate(term(), bought({2: 10}), as_of=date(2026, 4, 15))
    assert [r.month for r in results] == [month(1), month(2), month(3), month(4)]
    assert amounts(results) == [Decimal("0.00"), Decimal("2.50"), Decimal("0.00"), Decimal("0.00")]


def test_nothing_accrues_before_the_term_starts():
    assert calculate(term(), ten_a_month(), as_of=date(2025, 12, 31)) == ()


def test_lines_outside_the_term_are_ignored():
    outside = [PurchaseLine(month(12, 2025), Decimal("10"), Decimal("121")), *bought({1: 10})]
    outside.append(PurchaseLine(month(1, 2027), Decimal("10"), Decimal("121")))
    results = calculate(term(), outside, as_of=date(2027, 3, 31))
    assert len(results) == 12
    assert results[-1].cumulative == Decimal("2.50")


def test_lines_of_one_month_are_added_together():
    lines = [
        PurchaseLine(month(1), Decimal("4"), Decimal("48.40")),
        PurchaseLine(month(1), Decimal("6"), Decimal("72.60")),
    ]
    january = calculate(term(), lines, as_of=month(1))[0]
    assert (january.quantity, january.eligible_amount, january.amount) == (
        10,
        Decimal("121.00"),
        Decimal("2.50"),
    )


def test_money_is_always_given_to_the_cent():
    results = calculate(term(), bought({3: 10}), as_of=YEAR_END)
    for r in results:
        assert {x.as_tuple().exponent for x in (r.accrual, r.catch_up, r.bonus, r.amount, r.cumulative)} == {
            -2
        }


def test_as_of_must_be_a_date():
    with pytest.raises(TypeError, match="as_of must be a date"):
        calculate(term(), [], as_of="2026-05-31")


def test_nothing_is_earned_until_the_minimum_is_reached():
    results = calculate(term(replace(SEED_RULE, minimum=Decimal("25"))), ten_a_month(), as_of=YEAR_END)
    assert amounts(results[:2]) == [Decimal("0.00"), Decimal("0.00")]
    assert results[0].rate == 0


def test_reaching_the_minimum_books_the_back_earnings_as_catch_up():
    march = calculate(term(replace(SEED_RULE, minimum=Decimal("25"))), ten_a_month(), as_of=YEAR_END)[2]
    assert (march.amount, march.accrual, march.catch_up) == (
        Decimal("7.50"),
        Decimal("2.50"),
        Decimal("5.00"),
    )


def test_minimum_of_a_percent_rule_is_measured_in_money():
    rule = RebateRule(kind="percent", rate=Decimal("1"), minimum=Decimal("300"))
    results = calculate(term(rule), ten_a_month(), as_of=YEAR_END)
    # $121.00 a month: $363.00 by March.
    assert amounts(results[:3]) == [Decimal("0.00"), Decimal("0.00"), Decimal("3.63")]


def test_month_that_hits_the_cap_is_trimmed_and_later_months_earn_nothing():
    results = calculate(term(replace(SEED_RULE, cap=Decimal("6.00"))), ten_a_month(), as_of=YEAR_END)
    assert amounts(results[:4]) == [Decimal("2.50"), Decimal("2.50"), Decimal("1.00"), Decimal("0.00")]
    assert results[-1].cumulative == Decimal("6.00")
    assert results[3].rate == 0


def test_credit_note_that_takes_the_period_below_the_cap_gives_back_only_what_falls_below():
    lines = [*ten_a_month(), *bought({4: -20})]
    results = calculate(term(replace(SEED_RULE, cap=Decimal("6.00"))), lines, as_of=YEAR_END)
    # April: 20 units net to date, $5.00 < cap; May: back to 30 units, capped at $6.00 again.
    assert [r.cumulative for r in results[2:5]] == [Decimal("6.00"), Decimal("5.00"), Decimal("6.00")]
    assert amounts(results[3:5]) == [Decimal("-1.00"), Decimal("1.00")]


def test_cap_trim_in_a_month_that_also_crosses_a_tier_keeps_catch_up_within_the_month():
    rule = replace(RETROACTIVE, cap=Decimal("200.00"))
    march = calculate(term(rule), bought(dict.fromkeys(range(1, 13), 400), "10.00"), as_of=YEAR_END)[2]
    assert march.amount == Decimal("120.00")
    assert Decimal("0") <= march.catch_up <= march.amount


def test_shortfall_month_earns_nothing_under_the_commitment_rule():
    terms = term(replace(SEED_RULE, commitment_rule=True), committed_monthly_quantity=Decimal("10"))
    results = calculate(terms, bought({1: 10, 2: 5, 3: 10}), as_of=month(3))
    assert [r.shortfall for r in results] == [False, True, False]
    assert amounts(results) == [Decimal("2.50"), Decimal("0.00"), Decimal("2.50")]
    assert results[1].rate == 0


def test_shortfall_volume_never_earns_later_as_catch_up():
    rule = replace(RETROACTIVE, commitment_rule=True)
    quantities = {1: 400, 2: 300, 3: 400}
    results = calculate(
        term(rule, committed_monthly_quantity=Decimal("400")), bought(quantities, "10.00"), as_of=month(3)
    )
    # February's 300 units do not count: 800 units by March, still below the 1,000-unit tier.
    assert amounts(results) == [Decimal("40.00"), Decimal("0.00"), Decimal("40.00")]


def test_shortfall_is_flagged_but_earns_when_the_commitment_rule_is_off():
    results = calculate(term(committed_monthly_quantity=Decimal("10")), bought({1: 10, 2: 5}), as_of=month(2))
    assert [r.shortfall for r in results] == [False, True]
    assert results[1].amount == Decimal("1.25")


def test_no_committed_quantity_means_no_shortfall():
    results = calculate(term(), [], as_of=month(3))
    assert not any(r.shortfall for r in results)


def test_quarterly_settlement_restarts_the_cumulative_each_quarter():
    results = calculate(term(settlement_frequency="quarterly"), ten_a_month(), as_of=YEAR_END)
    assert [r.cumulative for r in results[2:4]] == [Decimal("7.50"), Decimal("2.50")]
    assert [r.period_start for r in results[2:4]] == [month(1), month(4)]


def test_quarterly_tiers_count_volume_from_the_quarter_start():
    results = calculate(
        term(RETROACTIVE, settlement_frequency="quarterly"),
        bought(dict.fromkeys(range(1, 13), 400), "10.00"),
        as_of=YEAR_END,
    )
    # April starts over at 1 %, having reached 2 % in March.
    assert amounts(results[2:4]) == [Decimal("160.00"), Decimal("40.00")]


def test_monthly_settlement_makes_each_month_its_own_period():
    results = calculate(term(settlement_frequency="monthly"), ten_a_month(), as_of=YEAR_END)
    assert all(r.period_start == r.month and r.cumulative == r.amount for r in results)


def test_annual_term_from_march_is_one_period_to_february():
    terms = AgreementTerms(start_month=month(3), end_month=month(2, 2027), rule=SEED_RULE)
    lines = [PurchaseLine(m.month, m.quantity, m.amount) for m in ten_a_month()]
    lines += [PurchaseLine(month(m, 2027), Decimal("10"), Decimal("121")) for m in (1, 2)]
    results = calculate(terms, lines, as_of=month(2, 2027))
    assert {r.period_start for r in results} == {month(3)}
    assert results[-1].cumulative == Decimal("30.00")


def test_rebate_per_unit_of_a_per_unit_rule_is_its_rate():
    results = calculate(term(), ten_a_month(), as_of=YEAR_END)
    assert results[0].rebate_per_unit == Decimal("0.2500")


def test_rebate_per_unit_of_a_percent_rule_is_the_rate_at_the_average_price():
    results = calculate(term(RETROACTIVE), bought(dict.fromkeys(range(1, 13), 400), "10.00"), as_of=YEAR_END)
    assert [r.rebate_per_unit for r in results[1:3]] == [Decimal("0.1000"), Decimal("0.2000")]


def test_rebate_per_unit_of_a_percent_rule_is_unknown_in_a_month_without_units():
    results = calculate(term(RebateRule(kind="percent", rate=Decimal("1"))), bought({1: 10}), as_of=month(2))
    assert results[1].rebate_per_unit is None


def test_rebate_per_unit_at_current_volume_prices_the_reached_tier_at_the_contract_price():
    terms = term(RETROACTIVE)
    results = calculate(terms, bought({1: 400, 2: 400, 3: 400}, "10.00"), as_of=month(3))
    # 2 % of $12.10
    assert rebate_per_unit(terms, results, unit_price=Decimal("12.10")) == Decimal("0.2420")


def test_rebate_per_unit_before_anything_accrued_is_zero():
    assert rebate_per_unit(term(), (), unit_price=Decimal("12.10")) == 0


def test_retroactive_on_growth_catches_up_only_the_earlier_growth():
    bands = (
        Band(Decimal("0"), Decimal("0")),
        Band(Decimal("100"), Decimal("2")),
        Band(Decimal("115"), Decimal("5")),
    )
    rule = RebateRule(
        kind="tiered",
        rate_type="percent",
        tier_basis="percent_of_baseline",
        tier_method="retroactive_on_growth",
        bands=bands,
        baseline="stated",
        baseline_amount=Decimal("100000"),
    )
    results = calculate(term(rule), bought(dict.fromkeys(range(1, 13), 1000), "10.00"), as_of=YEAR_END)
    november, december = results[10], results[11]
    # November: 110 % of baseline, 2 % on $10,000 of growth. December: 120 %, 5 % on $20,000.
    assert november.amount == Decimal("200.00")
    assert (december.amount, december.accrual, december.catch_up) == (
        Decimal("800.00"),
        Decimal("500.00"),
        Decimal("300.00"),
    )


def test_percent_of_baseline_tiers_compare_with_last_years_same_months():
    bands = (Band(Decimal("0"), Decimal("1")), Band(Decimal("110"), Decimal("2")))
    rule = RebateRule(
        kind="tiered",
        rate_type="percent",
        tier_basis="percent_of_baseline",
        tier_method="retroactive",
        bands=bands,
        baseline="last_year",
    )
    last_year = [PurchaseLine(month(m, 2025), Decimal("1000"), Decimal("10000")) for m in range(1, 13)]
    results = calculate(
        term(rule),
        bought(dict.fromkeys(range(1, 13), 1200), "10.00"),
        as_of=YEAR_END,
        last_year_lines=last_year,
    )
    # 120 % of last year every month: 2 % of $12,000.
    assert amounts(results) == [Decimal("240.00")] * 12


def test_credit_note_that_drops_below_a_tier_takes_back_the_catch_up():
    quantities = {1: 400, 2: 400, 3: 400, 4: -300}
    april = calculate(term(RETROACTIVE), bought(quantities, "10.00"), as_of=month(4))[3]
    # 900 units to date: back to 1 % on $9,000 = $90.00 from $240.00.
    assert (april.amount, april.accrual, april.catch_up) == (
        Decimal("-150.00"),
        Decimal("-30.00"),
        Decimal("-120.00"),
    )
