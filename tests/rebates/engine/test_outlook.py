"""The next tier and the period-end forecast (rebates/engine/outlook.py), without a database."""

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from rebates.engine import AgreementTerms, PurchaseLine, RebateRule, calculate
from rebates.engine.outlook import CAP, MINIMUM, TIER, forecast, next_tier, settlement_period
from rebates.engine.periods import add_months
from tests.rebates.engine.test_properties import TIERS, agreements, purchase_lines

outlook_examples = settings(max_examples=100, deadline=None)
ALL_YEAR = tuple(range(1, 13))


def month(number: int, year: int = 2026) -> date:
    return date(year, number, 1)


def month_end(number: int, year: int = 2026) -> date:
    return add_months(month(number, year), 1) - timedelta(days=1)


def retroactive_tiers() -> AgreementTerms:
    rule = RebateRule(kind="tiered", rate_type="percent", tier_basis="quantity", tier_method="retroactive",
                      bands=TIERS)
    return AgreementTerms(start_month=month(1), end_month=month(12), rule=rule)


def every_month(quantity: str, price: str, months=ALL_YEAR, year: int = 2026) -> list[PurchaseLine]:
    return [PurchaseLine(month(m, year), Decimal(quantity), Decimal(quantity) * Decimal(price)) for m in months]


def test_after_february_the_next_tier_is_200_units_away_and_adds_80_catch_up_plus_2_percent_on_them():
    tier = next_tier(retroactive_tiers(), every_month("400", "10.00", range(1, 3)), as_of=month_end(2))

    assert tier.threshold_kind == TIER
    assert tier.measure == "units"
    assert tier.standing == Decimal("800")
    assert tier.to_go_units == Decimal("200")
    assert tier.to_go_amount == Decimal("2000.00")
    assert tier.extra_catch_up == Decimal("80.00")
    assert tier.extra_on_volume == Decimal("40.00")  # 2 % on the 200 units' $2,000.00
    assert tier.extra == Decimal("120.00")
    assert tier.earned_to_date == Decimal("80.00")
    assert (tier.rate_now, tier.rate_then) == (Decimal("1"), Decimal("2"))


def test_after_february_the_period_has_306_days_and_10_months_left_at_20_units_a_month_against_400():
    tier = next_tier(retroactive_tiers(), every_month("400", "10.00", range(1, 3)), as_of=month_end(2))

    assert tier.days_left == 306
    assert tier.months_left == 10
    assert tier.needed_per_month == Decimal("20.000")
    assert tier.own_per_month == Decimal("400.000")
    assert tier.on_track


def test_a_minimum_not_reached_comes_before_any_tier():
    rule = RebateRule(kind="per_unit", rate=Decimal("0.25"), minimum=Decimal("100"))
    terms = AgreementTerms(start_month=month(1), end_month=month(12), rule=rule)

    tier = next_tier(terms, every_month("10", "12.10", range(1, 4)), as_of=month_end(3))

    assert tier.threshold_kind == MINIMUM
    assert tier.to_go_units == Decimal("70")
    # Reaching the minimum earns the whole period to date: 100 units at $0.25.
    assert tier.extra == Decimal("25.00")
    assert tier.extra_catch_up == Decimal("7.50")


def test_a_cap_is_the_last_threshold():
    rule = RebateRule(kind="percent", rate=Decimal("2"), cap=Decimal("500.00"))
    terms = AgreementTerms(start_month=month(1), end_month=month(12), rule=rule)

    tier = next_tier(terms, every_month("100", "10.00", range(1, 3)), as_of=month_end(2))

    assert tier.threshold_kind == CAP
    assert tier.to_go_amount == Decimal("23000.00")  # $500 - $40 earned, at 2 %
    assert tier.extra == Decimal("460.00")


def test_a_flat_rule_without_minimum_or_cap_has_no_next_tier():
    terms = AgreementTerms(start_month=month(1), end_month=month(12),
                           rule=RebateRule(kind="per_unit", rate=Decimal("0.25")))

    assert next_tier(terms, every_month("10", "12.10"), as_of=month_end(5)) is None


def test_the_last_tier_reached_leaves_nothing_to_reach():
    assert next_tier(retroactive_tiers(), every_month("600", "10.00"), as_of=month_end(9)) is None


def quarterly_minimum() -> AgreementTerms:
    rule = RebateRule(kind="per_unit", rate=Decimal("0.25"), minimum=Decimal("100"))
    return AgreementTerms(start_month=month(1, 2025), end_month=month(12), settlement_frequency="quarterly",
                          rule=rule)


def test_a_quarter_that_bought_nothing_prices_its_minimum_at_its_window_from_last_years_quarter_on():
    # Nothing bought in the third quarter: the window runs from July 2025 (at $8.00) to September 2026;
    # March 2025's $20.00 is before it.
    lines = [*every_month("50", "20.00", (3,), year=2025), *every_month("50", "8.00", (7, 8), year=2025),
             *every_month("50", "14.00", (4,))]
    tier = next_tier(quarterly_minimum(), lines, as_of=month_end(9))

    assert (tier.threshold_kind, tier.to_go_units) == (MINIMUM, Decimal("100"))
    assert tier.unit_price == Decimal("10.00")  # $1,500.00 for 150 units: 100 at $8.00 and 50 at $14.00
    assert tier.to_go_amount == Decimal("1000.00")


@given(st.lists(st.tuples(st.integers(1, 12), st.integers(1, 500), st.integers(1, 40)), max_size=12))
@outlook_examples
def test_months_read_before_the_window_never_change_the_next_tier(earlier):
    # Whatever an outlook chunk's other agreements make it read back to, the agreement's figures stay its own.
    window = [*every_month("50", "8.00", (7, 8), year=2025), *every_month("50", "14.00", (4,))]
    older = [PurchaseLine(month(m, 2024), Decimal(q), Decimal(q) * Decimal(p)) for m, q, p in earlier]
    older += [PurchaseLine(month(m, 2025), Decimal(q), Decimal(q) * Decimal(p)) for m, q, p in earlier if m < 7]

    assert next_tier(quarterly_minimum(), [*older, *window], as_of=month_end(9)) == \
        next_tier(quarterly_minimum(), window, as_of=month_end(9))


@st.composite
def agreements_with_a_threshold(draw):
    """Random agreements of every kind, those with neither a minimum nor a cap given a cap (up to $1,000,000.00,
    mostly beyond what the purchases earn): most periods then have a next threshold (a minimum, a tier or the
    cap), and the rest (all reached, or a rate of 0) are left out by the test, not passed through."""
    terms = draw(agreements())
    if terms.rule.minimum is None and terms.rule.cap is None:
        cap = draw(st.integers(1, 100_000_000).map(lambda cents: Decimal(cents) / 100))
        terms = replace(terms, rule=replace(terms.rule, cap=cap))
    return terms


@given(agreements_with_a_threshold(), purchase_lines(min_quantity=0), st.integers(1, 12), st.integers(0, 5000))
@outlook_examples
def test_reaching_the_stated_next_tier_volume_earns_exactly_the_stated_extra(terms, lines, as_of_month, base):
    last_year = [PurchaseLine(month(m, 2025), Decimal("100"), Decimal(base)) for m in range(1, 13)]
    as_of = month_end(as_of_month)
    tier = next_tier(terms, lines, as_of=as_of, last_year_lines=last_year, unit_price=Decimal("7.50"))
    # Every example that counts reaches the assertions: one without a next threshold is drawn again (hypothesis
    # fails the test when too few have one), and the statistics show which thresholds were reached.
    assume(tier is not None)
    event(f"next threshold: {tier.threshold_kind}")
    event(f"rule kind: {terms.rule.kind}")
    known = [line for line in lines if line.month <= month(as_of_month)]
    end = month_end(tier.target_month.month)
    before = calculate(terms, known, as_of=end, last_year_lines=last_year)[-1]
    bought = PurchaseLine(tier.target_month, tier.to_go_units, tier.to_go_amount)
    after = calculate(terms, [*known, bought], as_of=end, last_year_lines=last_year)[-1]

    assert after.cumulative - before.cumulative == tier.extra
    assert after.catch_up - before.catch_up == tier.extra_catch_up
    assert after.rate == tier.rate_then
    to_date = [r for r in calculate(terms, known, as_of=as_of, last_year_lines=last_year)
               if r.month >= tier.period.first]
    assert tier.earned_to_date == to_date[-1].cumulative
    assert tier.to_go > 0
    assert tier.days_left >= 0


def test_the_forecast_of_the_worked_example_repeats_400_units_a_month():
    result = forecast(retroactive_tiers(), every_month("400", "10.00", range(1, 3)), as_of=month_end(2))

    assert result.method == "run-rate"
    assert result.volume_quantity == Decimal("4800.000")
    assert result.volume_amount == Decimal("48000.00")
    assert result.rebate == Decimal("960.00")  # 2 % of $48,000.00
    assert result.payout == Decimal("960.00")
    assert result.payout_month == date(2027, 1, 1)
    assert result.rebate_to_date == Decimal("80.00")


def test_the_forecast_follows_last_years_months_scaled_by_this_years_growth():
    last_year = every_month("100", "10.00", range(1, 7), year=2025) + every_month("300", "10.00", range(7, 13),
                                                                                  year=2025)
    this_year = every_month("200", "10.00", range(1, 7))  # twice last year so far

    result = forecast(retroactive_tiers(), this_year + last_year, as_of=month_end(6))

    assert result.method == "last year"
    assert result.volume_quantity == Decimal("4800.000")  # 6 x 200 + 6 x 600
    assert result.rebate == Decimal("960.00")


def test_a_terminated_agreement_forecasts_no_payout():
    terms = AgreementTerms(start_month=month(1), end_month=month(12), rule=retroactive_tiers().rule,
                           terminated_on=date(2026, 6, 30))

    result = forecast(terms, every_month("400", "10.00"), as_of=month_end(3))

    assert result.period.last == month(6)
    assert result.payout == Decimal("0.00")
    assert result.rebate > 0


@given(agreements(), purchase_lines(), st.integers(0, 5000), st.integers(1, 12))
@outlook_examples
def test_the_forecast_of_a_finished_period_equals_its_actual(terms, lines, base, some_month):
    last_year = [PurchaseLine(month(m, 2025), Decimal("100"), Decimal(base)) for m in range(1, 13)]
    period = settlement_period(terms, month(some_month))
    as_of = period.last_day  # the period's last day: it has ended, nothing is projected

    result = forecast(terms, lines, as_of=as_of, last_year_lines=last_year, bonus_lines=lines)
    actual = [r for r in calculate(terms, lines, as_of=period.last_day, last_year_lines=last_year, bonus_lines=lines)
              if r.month >= period.first]

    assert result.method == "actual"
    assert result.projected == ()
    assert result.rebate == actual[-1].cumulative
    assert result.volume_quantity == sum((r.quantity for r in actual), Decimal("0"))
    assert result.volume_amount == sum((r.eligible_amount for r in actual), Decimal("0"))
    # The payout is what the engine books for the period's months: what its settlement pays.
    assert result.payout == sum((r.amount for r in actual), Decimal("0.00"))
    assert result.payout_month == add_months(period.last, 1)


@given(agreements(), purchase_lines(min_quantity=0), st.integers(1, 12))
@outlook_examples
def test_the_forecast_never_falls_below_what_the_period_has_earned_without_credit_notes(terms, lines, as_of_month):
    result = forecast(terms, lines, as_of=month_end(as_of_month))

    assert result.volume_quantity >= sum((line.quantity for line in lines
                                          if result.period.first <= line.month <= month(as_of_month)), Decimal(0))


@given(agreements(), purchase_lines(), st.integers(1, 12))
@outlook_examples
def test_the_forecast_is_what_calculate_books_on_the_actual_and_projected_months(terms, lines, as_of_month):
    result = forecast(terms, lines, as_of=month_end(as_of_month), bonus_lines=lines)
    period = result.period
    known = [line for line in lines if line.month <= month(as_of_month)]
    booked = [r for r in calculate(terms, known + list(result.projected), as_of=period.last_day, bonus_lines=lines)
              if r.month >= period.first]

    assert result.rebate == (booked[-1].cumulative if booked else Decimal("0.00"))
    assert result.volume_quantity == sum((r.quantity for r in booked), Decimal("0"))
    assert result.volume_amount == sum((r.eligible_amount for r in booked), Decimal("0"))
