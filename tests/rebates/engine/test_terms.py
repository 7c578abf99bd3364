from datetime import date
from decimal import Decimal

import pytest

from rebates.engine import AgreementTerms, Band, RebateRule, RuleKind, TierMethod
from rebates.engine.terms import RateType

PER_UNIT = RebateRule(kind="per_unit", rate=Decimal("0.25"))


def tiered(bands) -> RebateRule:
    return RebateRule(
        kind="tiered", rate_type="percent", tier_basis="quantity", tier_method="retroactive", bands=bands
    )


def test_model_strings_become_enums():
    rule = tiered([Band(Decimal("0"), Decimal("1"))])
    assert rule.kind is RuleKind.TIERED
    assert rule.tier_method is TierMethod.RETROACTIVE
    assert rule.bands == (Band(Decimal("0"), Decimal("1")),)


def test_blank_model_choices_mean_not_set():
    rule = RebateRule(kind="per_unit", rate=Decimal("0.25"), tier_basis="", tier_method="", baseline="")
    assert rule.tier_basis is None and rule.baseline is None


def test_tier_settings_on_a_per_unit_rule_are_cleared():
    rule = RebateRule(kind="per_unit", rate=Decimal("0.25"), tier_method="retroactive_on_growth")
    assert rule.tier_method is None


def test_tiered_rule_with_non_ascending_bands_is_refused():
    with pytest.raises(ValueError, match="thresholds must ascend: 1000 follows 5000"):
        tiered(
            [
                Band(Decimal("0"), Decimal("1")),
                Band(Decimal("5000"), Decimal("3")),
                Band(Decimal("1000"), Decimal("2")),
            ]
        )


def test_tiered_rule_whose_first_band_is_not_at_zero_is_refused():
    with pytest.raises(ValueError, match="first tier band must start at 0, not at 1000"):
        tiered([Band(Decimal("1000"), Decimal("2"))])


def test_tiered_rule_needs_basis_and_method():
    with pytest.raises(ValueError, match="tier_basis and a tier_method"):
        RebateRule(kind="tiered", bands=[Band(Decimal("0"), Decimal("1"))])


def test_flat_rule_needs_a_rate():
    with pytest.raises(ValueError, match="percent rule needs a rate"):
        RebateRule(kind="percent")


def test_float_rate_is_refused():
    with pytest.raises(TypeError, match="rate must be a Decimal"):
        RebateRule(kind="per_unit", rate=0.25)


def test_negative_cap_is_refused():
    with pytest.raises(ValueError, match="cap must not be negative"):
        RebateRule(kind="per_unit", rate=Decimal("0.25"), cap=Decimal("-1"))


def test_cap_in_fractions_of_a_cent_is_refused():
    with pytest.raises(ValueError, match="cap must be whole cents"):
        RebateRule(kind="per_unit", rate=Decimal("0.25"), cap=Decimal("10.005"))


def test_growth_rule_needs_a_baseline():
    with pytest.raises(ValueError, match="baseline"):
        RebateRule(kind="growth", rate=Decimal("5"))


def test_stated_baseline_needs_an_amount():
    with pytest.raises(ValueError, match="baseline_amount"):
        RebateRule(kind="growth", rate=Decimal("5"), baseline="stated")


def test_percent_and_growth_rates_are_percents_and_per_unit_rates_money():
    assert PER_UNIT.rate_unit is RateType.PER_UNIT
    assert RebateRule(kind="percent", rate=Decimal("2")).rate_unit is RateType.PERCENT
    assert RebateRule(kind="growth", rate=Decimal("5"), baseline="last_year").rate_unit is RateType.PERCENT


def test_term_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="before it starts"):
        AgreementTerms(start_month=date(2026, 6, 1), end_month=date(2026, 5, 1), rule=PER_UNIT)


def test_term_months_must_be_first_of_month():
    with pytest.raises(ValueError, match="end_month must be the first of a month"):
        AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 31), rule=PER_UNIT)


def test_termination_month_is_the_last_month_that_accrues():
    terms = AgreementTerms(date(2026, 1, 1), date(2026, 12, 1), PER_UNIT, terminated_on=date(2026, 6, 30))
    assert terms.last_month == date(2026, 6, 1)


def test_without_termination_the_term_end_is_the_last_month():
    assert AgreementTerms(date(2026, 1, 1), date(2026, 12, 1), PER_UNIT).last_month == date(2026, 12, 1)
