from decimal import Decimal

from rebates.engine import Band, RebateRule
from rebates.engine.rules import Volume, basis_value, earned, minimum_volume, rate_at, rate_in_force

TIERS = (
    Band(Decimal("0"), Decimal("1")),
    Band(Decimal("1000"), Decimal("2")),
    Band(Decimal("5000"), Decimal("3")),
)
GROWTH_TIERS = (
    Band(Decimal("0"), Decimal("0")),
    Band(Decimal("100"), Decimal("2")),
    Band(Decimal("110"), Decimal("5")),
)


def tiered(
    method: str, basis: str = "quantity", rate_type: str = "percent", bands=TIERS, **kwargs
) -> RebateRule:
    return RebateRule(
        kind="tiered", rate_type=rate_type, tier_basis=basis, tier_method=method, bands=bands, **kwargs
    )


def test_per_unit_earns_rate_times_units():
    rule = RebateRule(kind="per_unit", rate=Decimal("0.25"))
    assert earned(rule, Volume(quantity=Decimal("120"), amount=Decimal("1452"))) == Decimal("30")


def test_percent_earns_percent_of_amount():
    rule = RebateRule(kind="percent", rate=Decimal("2"))
    assert earned(rule, Volume(quantity=Decimal("1"), amount=Decimal("1452"))) == Decimal("29.04")


def test_net_credit_over_the_period_earns_nothing_rather_than_a_negative_rebate():
    rule = RebateRule(kind="per_unit", rate=Decimal("0.25"))
    assert earned(rule, Volume(quantity=Decimal("-4"), amount=Decimal("-48.40"))) == 0


def test_retroactive_tier_applies_the_reached_rate_to_all_volume():
    volume = Volume(quantity=Decimal("1200"), amount=Decimal("12000"))
    assert earned(tiered("retroactive"), volume) == Decimal("240")


def test_incremental_tiers_on_quantity_carry_their_amount_at_the_average_price():
    volume = Volume(quantity=Decimal("1200"), amount=Decimal("12000"))
    # 1,000 units ($10,000) at 1 % + 200 units ($2,000) at 2 %
    assert earned(tiered("incremental"), volume) == Decimal("140")


def test_incremental_tiers_on_amount_with_per_unit_rates_carry_their_units():
    bands = (Band(Decimal("0"), Decimal("0.10")), Band(Decimal("5000"), Decimal("0.20")))
    rule = tiered("incremental", basis="amount", rate_type="per_unit", bands=bands)
    # $6,000 for 600 units: $5,000 (500 units) at 0.10 + $1,000 (100 units) at 0.20
    assert earned(rule, Volume(quantity=Decimal("600"), amount=Decimal("6000"))) == Decimal("70")


def test_percent_of_baseline_basis_reads_amount_against_last_year():
    rule = tiered("retroactive", basis="percent_of_baseline", bands=GROWTH_TIERS, baseline="last_year")
    volume = Volume(amount=Decimal("120000"), baseline_amount=Decimal("100000"))
    assert basis_value(rule, volume) == Decimal("120")
    assert rate_at(rule, volume) == Decimal("5")


def test_percent_of_a_missing_baseline_reads_as_the_first_band():
    rule = tiered("retroactive", basis="percent_of_baseline", bands=GROWTH_TIERS, baseline="last_year")
    assert basis_value(rule, Volume(amount=Decimal("5000"))) == 0


def test_retroactive_on_growth_pays_the_reached_rate_on_the_part_above_baseline():
    rule = tiered(
        "retroactive_on_growth",
        basis="percent_of_baseline",
        bands=GROWTH_TIERS,
        baseline="stated",
        baseline_amount=Decimal("100000"),
    )
    # 120 % of baseline reaches 5 %, paid on the $20,000 above it.
    assert earned(rule, Volume(amount=Decimal("120000"))) == Decimal("1000")


def test_retroactive_on_growth_with_per_unit_rates_pays_units_above_last_year():
    bands = (Band(Decimal("0"), Decimal("0.50")),)
    rule = tiered(
        "retroactive_on_growth", basis="quantity", rate_type="per_unit", bands=bands, baseline="last_year"
    )
    volume = Volume(quantity=Decimal("130"), amount=Decimal("1300"), baseline_quantity=Decimal("100"))
    assert earned(rule, volume) == Decimal("15")


def test_growth_against_a_stated_amount():
    rule = RebateRule(kind="growth", rate=Decimal("5"), baseline="stated", baseline_amount=Decimal("100000"))
    assert earned(rule, Volume(amount=Decimal("130000"))) == Decimal("1500")


def test_growth_below_baseline_earns_nothing_and_has_no_rate_in_force():
    rule = RebateRule(kind="growth", rate=Decimal("5"), baseline="stated", baseline_amount=Decimal("100000"))
    volume = Volume(amount=Decimal("90000"))
    assert earned(rule, volume) == 0
    assert rate_in_force(rule, volume) == 0


def test_restating_at_a_higher_rate_is_what_retroactive_catch_up_is_made_of():
    volume = Volume(quantity=Decimal("800"), amount=Decimal("8000"))
    assert earned(tiered("retroactive"), volume, rate=Decimal("2")) == Decimal("160")


def test_minimum_is_measured_in_units_for_per_unit_rules_and_money_for_percent_rules():
    volume = Volume(quantity=Decimal("30"), amount=Decimal("363"))
    assert minimum_volume(RebateRule(kind="per_unit", rate=Decimal("0.25")), volume) == Decimal("30")
    assert minimum_volume(RebateRule(kind="percent", rate=Decimal("1")), volume) == Decimal("363")
    assert minimum_volume(tiered("retroactive", basis="amount"), volume) == Decimal("363")
