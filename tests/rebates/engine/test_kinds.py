"""The rule kinds: one class per kind, found by its code, each saying what it earns and how it reads."""

from datetime import date
from decimal import Decimal

import pytest

from rebates.engine import RULE_KINDS, AgreementTerms, Band, PurchaseLine, RebateRule, RuleKind, calculate, rule_kind
from rebates.engine.calculate import calculate_decimal
from rebates.engine.exact import integer_rule
from rebates.engine.kinds import (
    ClearanceKind,
    ConditionalKind,
    GrowthKind,
    PercentKind,
    PerUnitKind,
    ProductMixKind,
    ReferralKind,
    TieredKind,
)
from rebates.engine.rules import Volume

D = Decimal
WORKED_TIERS = (Band(D(0), D(1)), Band(D(1000), D(2)), Band(D(5000), D(3)))
# Settings that satisfy every kind's requirements, so a rule of any kind can be built from them.
EVERY_SETTING = {"rate": D("0.25"), "rate_type": "percent", "tier_basis": "quantity", "tier_method": "retroactive",
                 "baseline": "last_year", "bands": WORKED_TIERS, "active_months": 3, "active_window": 4,
                 "clearance_rate": D(3), "min_product_lines": 2}


def test_the_registry_finds_each_kind_by_its_code():
    assert RULE_KINDS == {"per_unit": PerUnitKind, "percent": PercentKind, "tiered": TieredKind, "growth": GrowthKind,
                          "condition": ConditionalKind, "clearance": ClearanceKind, "mix": ProductMixKind,
                          "referral": ReferralKind}
    assert rule_kind("tiered") is TieredKind
    assert rule_kind(RuleKind.GROWTH) is GrowthKind


def test_an_unknown_code_names_the_kinds_there_are():
    codes = "per_unit, percent, tiered, growth, condition, clearance, mix, referral"
    with pytest.raises(ValueError, match=f"'rebate' is not a rule kind: one of {codes}"):
        rule_kind("rebate")


def test_the_kind_enum_has_one_member_per_registered_kind():
    assert [member.value for member in RuleKind] == list(RULE_KINDS)


@pytest.mark.parametrize("code", list(RULE_KINDS))
def test_a_rule_knows_its_kind(code):
    assert RebateRule(kind=code, **EVERY_SETTING).kind_class is RULE_KINDS[code]


@pytest.mark.parametrize(("code", "field"), [
    (code, field) for code, kind in RULE_KINDS.items() for requirement in kind.requires for field in requirement.fields
])
def test_the_engine_refuses_a_rule_missing_a_setting_its_kind_requires(code, field):
    with pytest.raises(ValueError, match=field):
        RebateRule(kind=code, **{**EVERY_SETTING, field: None})


@pytest.mark.parametrize(("code", "volume_in"), [
    ("per_unit", "units"), ("percent", "money"), ("growth", "money"), ("condition", "money"),
    ("clearance", "money"),
    ("mix", "money"),
])
def test_the_minimum_is_measured_in_units_for_per_unit_rules_and_in_money_otherwise(code, volume_in):
    rule = RebateRule(kind=code, **EVERY_SETTING)
    volume = Volume(quantity=D(30), amount=D(363))
    assert rule.kind_class.minimum_volume(rule, volume) == (D(30) if volume_in == "units" else D(363))


def test_a_referral_minimum_is_measured_on_the_referred_customers_purchases():
    rule = RebateRule(kind="referral", rate=D(2))
    assert ReferralKind.minimum_volume(rule, Volume(quantity=D(30), amount=D(363), referral_amount=D(50))) == D(50)


def test_only_tiered_and_product_mix_rules_restate_earlier_months_without_a_minimum():
    assert [code for code, kind in RULE_KINDS.items() if kind.restates_earlier_months] == ["tiered", "mix"]


def test_growth_rules_and_tiers_on_growth_measure_growth_and_other_rules_do_not():
    on_growth = RebateRule(**{**EVERY_SETTING, "kind": "tiered", "tier_method": "retroactive_on_growth"})
    assert on_growth.kind_class.measures_growth(on_growth)
    assert [code for code in RULE_KINDS if rule_kind(code).measures_growth(RebateRule(kind=code, **EVERY_SETTING))] \
        == ["growth"]


def test_a_growth_rule_has_no_rate_in_force_until_the_period_grows_past_its_baseline():
    rule = RebateRule(kind="growth", rate=D(5), baseline="stated", baseline_amount=D(1000))
    assert GrowthKind.rate_in_force(rule, Volume(amount=D(1000))) == 0
    assert GrowthKind.rate_in_force(rule, Volume(amount=D("1000.01"))) == D(5)


def test_the_tier_reached_sets_the_rate_of_a_tiered_rule():
    rule = RebateRule(kind="tiered", rate_type="percent", tier_basis="quantity", tier_method="retroactive",
                      bands=WORKED_TIERS)
    assert TieredKind.rate_at(rule, Volume(quantity=D(999))) == D(1)
    assert TieredKind.rate_at(rule, Volume(quantity=D(1200))) == D(2)


def test_worked_example_two_march_volume_earns_two_percent_on_everything_retroactively():
    rule = RebateRule(kind="tiered", rate_type="percent", tier_basis="quantity", tier_method="retroactive",
                      bands=WORKED_TIERS)
    assert TieredKind.earned(rule, Volume(quantity=D(1200), amount=D(12000))) == D("240.00")


@pytest.mark.parametrize(("rule", "words"), [
    (RebateRule(kind="per_unit", rate=D("0.25")), "$0.25 a unit"),
    (RebateRule(kind="percent", rate=D("2.50")), "2.5% of eligible net purchases"),
    (RebateRule(kind="growth", rate=D(5), baseline="last_year"), "5% of purchases above the same period last year"),
    (RebateRule(kind="growth", rate=D(5), baseline="stated", baseline_amount=D(100000)),
     "5% of purchases above $100,000.00 a settlement period"),
    (RebateRule(kind="tiered", rate_type="percent", tier_basis="quantity", tier_method="incremental",
                bands=WORKED_TIERS),
     "Tiered on period-to-date quantity (incremental): below 1,000 units 1%; from 1,000 units 2%; "
     "from 5,000 units 3%"),
    (RebateRule(kind="condition", rate=D(2), active_months=3, active_window=4),
     "2% of eligible net purchases in a month when the customer has bought in at least 3 of the last 4 months, "
     "that month included"),
    (RebateRule(kind="clearance", rate=D(1), clearance_rate=D("3.5")),
     "1% of eligible net purchases, and 3.5% more on products bought in their clearance window"),
    (RebateRule(kind="mix", rate=D(2), min_product_lines=3),
     "2% of eligible net purchases in a settlement period with purchases from at least 3 product lines"),
    (RebateRule(kind="mix", rate=D(2), min_product_lines=2, focus_line="7", focus_share=D(30)),
     "2% of eligible net purchases in a settlement period with purchases from at least 2 product lines and at "
     "least 30% of them in product line 7"),
    (RebateRule(kind="referral", rate=D(2)),
     "2% of the net purchases of referred customers in their first months, as each referred customer's record "
     "states"),
], ids=["per_unit", "percent", "growth-on-last-year", "growth-on-stated", "tiered", "condition", "clearance", "mix",
        "mix-with-focus", "referral"])
def test_each_kind_describes_what_its_rule_earns(rule, words):
    assert rule.kind_class.description(rule) == words


def test_the_terms_sentence_adds_how_the_rule_is_paid():
    assert PerUnitKind.terms(RebateRule(kind="per_unit", rate=D("0.25")), "paid annually") == \
        "$0.25 a unit, paid annually."


@pytest.mark.parametrize("kind", list(RULE_KINDS.values()), ids=list(RULE_KINDS))
def test_every_kind_has_a_name_and_words_for_a_rule_of_its_kind(kind):
    assert kind.name and kind.code
    assert kind.description(RebateRule(kind=kind.code, **EVERY_SETTING))


# The worked example of docs/rule-kinds.md: 2% in a month bought in at least 3 of the last 4, settled quarterly.
CONDITIONAL = RebateRule(kind="condition", rate=D(2), active_months=3, active_window=4)
BOUGHT_IN = (1, 2, 3, 4, 6, 7, 8, 9, 10)  # $1,000 of purchases in each of these months of 2026


def conditional_months(rule=CONDITIONAL, bought_in=BOUGHT_IN, frequency="quarterly"):
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule,
                           settlement_frequency=frequency)
    lines = [PurchaseLine(date(2026, m, 1), D(10), D(1000)) for m in bought_in]
    return calculate(terms, lines, as_of=date(2026, 12, 31))


def test_worked_example_conditional_a_month_earns_only_after_three_of_the_last_four_months_bought_in():
    months = conditional_months()
    assert [str(r.amount) for r in months] == ["0.00", "0.00", "20.00", "20.00", "0.00", "20.00",
                                               "20.00", "20.00", "20.00", "20.00", "0.00", "0.00"]
    # May bought nothing but counts (February to May: 3 months bought in); December counts 2 of 4.
    assert [r.rate for r in months][4] == D(2)
    assert months[-1].rate == 0
    assert [str(r.cumulative) for r in months][2::3] == ["20.00", "40.00", "60.00", "20.00"]


def test_a_conditional_months_left_out_never_earn_later_in_the_period():
    # January and February do not count: the annual period never earns on them, not even at its end.
    months = conditional_months(frequency="annual")
    assert months[-1].cumulative == D("140.00")  # 7 counting months bought in x $1,000 x 2%


def test_a_conditional_rule_counts_only_months_of_the_term_and_needs_a_sound_window():
    # Before the term nothing counts: the first two months cannot reach 3 of 4.
    assert [r.amount for r in conditional_months(bought_in=range(1, 13))][:3] == [D(0), D(0), D("20.00")]
    for needed, window in ((0, 4), (5, 4), (3, 13)):
        with pytest.raises(ValueError, match="active_months <= active_window"):
            RebateRule(kind="condition", rate=D(2), active_months=needed, active_window=window)
    with pytest.raises(TypeError, match="whole number"):
        RebateRule(kind="condition", rate=D(2), active_months=D(3), active_window=4)


def same_in_integers(terms, lines, **options):
    """The months `calculate` gives in integers, checked to be the Decimal maths's, figure for figure."""
    assert integer_rule(terms.rule) is not None
    integers = calculate(terms, lines, **options)
    decimals = calculate_decimal(terms, lines, **options)
    assert integers == decimals and [repr(r) for r in integers] == [repr(r) for r in decimals]
    return integers


def test_a_conditional_rule_is_done_in_integers_and_other_kinds_ignore_its_months():
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=CONDITIONAL,
                           settlement_frequency="quarterly")
    lines = [PurchaseLine(date(2026, m, 1), D(10), D(1000)) for m in BOUGHT_IN]
    assert same_in_integers(terms, lines, as_of=date(2026, 12, 31)) == conditional_months()
    assert same_in_integers(terms, lines, as_of=date(2026, 12, 31), changed_months={date(2026, 3, 1)})
    percent = RebateRule(kind="percent", rate=D(2), active_months=3, active_window=4)
    assert (percent.active_months, percent.active_window) == (None, None)
    assert percent.kind_class.reach(percent) == 0 and CONDITIONAL.kind_class.reach(CONDITIONAL) == 3


def test_a_changed_month_of_a_conditional_rule_recomputes_the_months_it_decides_in_the_next_period():
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=CONDITIONAL,
                           settlement_frequency="quarterly")
    lines = [PurchaseLine(date(2026, m, 1), D(10), D(1000)) for m in BOUGHT_IN]
    part = calculate(terms, lines, as_of=date(2026, 12, 31), changed_months={date(2026, 3, 1)})
    whole = calculate(terms, lines, as_of=date(2026, 12, 31))
    # March decides March to June: its own period's last month and the whole next period.
    assert [r.month.month for r in part] == [3, 4, 5, 6]
    assert part == whole[2:6]


# The worked example of docs/rule-kinds.md: 1%, and 3% more on clearance products, settled quarterly.
CLEARANCE = RebateRule(kind="clearance", rate=D(1), clearance_rate=D(3))


def test_worked_example_clearance_products_earn_the_extra_rate_in_their_window_only():
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=CLEARANCE,
                           settlement_frequency="quarterly")
    lines = [PurchaseLine(date(2026, m, 1), D(10), D(1000)) for m in range(1, 7)]
    # $400 of each month's $1,000 was of a product on clearance from February to April.
    cleared = [PurchaseLine(date(2026, m, 1), D(4), D(400), product="CLR-1") for m in (2, 3, 4)]
    months = calculate(terms, lines, as_of=date(2026, 6, 30), clearance_lines=cleared)
    assert [str(r.amount) for r in months] == ["10.00", "22.00", "22.00", "22.00", "10.00", "10.00"]
    assert [str(r.cumulative) for r in months][2::3] == ["54.00", "42.00"]
    # Without clearance lines it is a plain 1% rule.
    assert calculate(terms, lines, as_of=date(2026, 6, 30))[-1].cumulative == D("30.00")


def test_a_clearance_rule_is_capped_and_held_to_its_minimum_as_a_whole():
    rule = RebateRule(kind="clearance", rate=D(1), clearance_rate=D(3), minimum=D(2500), cap=D("40.00"))
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 3, 1), rule=rule)
    lines = [PurchaseLine(date(2026, m, 1), D(10), D(1000)) for m in range(1, 4)]
    cleared = [PurchaseLine(date(2026, m, 1), D(4), D(400)) for m in range(1, 4)]
    months = calculate(terms, lines, as_of=date(2026, 3, 31), clearance_lines=cleared)
    # Nothing until $2,500 (March), then 1% of $3,000 + 3% of $1,200 = $66.00, capped at $40.00.
    assert [str(r.amount) for r in months] == ["0.00", "0.00", "40.00"]
    assert months[-1].catch_up == D("40.00")


def test_a_clearance_rule_is_done_in_integers_and_other_kinds_ignore_its_rate():
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=CLEARANCE,
                           settlement_frequency="quarterly")
    lines = [PurchaseLine(date(2026, m, 1), D(10), D(1000)) for m in range(1, 7)]
    cleared = [PurchaseLine(date(2026, m, 1), D(4), D(400), product="CLR-1") for m in (2, 3, 4)]
    months = same_in_integers(terms, lines, as_of=date(2026, 6, 30), clearance_lines=cleared)
    assert [str(r.amount) for r in months] == ["10.00", "22.00", "22.00", "22.00", "10.00", "10.00"]
    assert RebateRule(kind="percent", rate=D(2), clearance_rate=D(3)).clearance_rate is None


# The worked example of docs/rule-kinds.md: 2% in a quarter bought from at least 2 product lines.
MIX = RebateRule(kind="mix", rate=D(2), min_product_lines=2)


def mix_months(rule, by_line, frequency="quarterly"):
    """`by_line`: {month: {line: amount}}; each line's amount is 1 unit a dollar."""
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule,
                           settlement_frequency=frequency)
    mix = [PurchaseLine(date(2026, m, 1), D(amount), D(amount), product=line)
           for m, lines in by_line.items() for line, amount in lines.items()]
    return calculate(terms, mix, as_of=date(2026, 6, 30), mix_lines=mix)


def test_worked_example_product_mix_a_quarter_earns_once_it_buys_from_two_lines_and_restates_its_months():
    months = mix_months(MIX, {1: {"7": 1000}, 2: {"7": 1000}, 3: {"7": 1000, "8": 500},
                              4: {"7": 1000}, 5: {"7": 1000}, 6: {"7": 1000}})
    # March brings a second line: the quarter earns 2% of $3,500, January and February's $40 as catch-up.
    assert [(str(r.amount), str(r.catch_up)) for r in months[:3]] == [("0.00", "0.00"), ("0.00", "0.00"),
                                                                      ("70.00", "40.00")]
    # The second quarter buys from one line only: nothing.
    assert [r.cumulative for r in months[3:]] == [D(0), D(0), D(0)]
    assert [r.rate for r in months] == [D(0), D(0), D(2), D(0), D(0), D(0)]


def test_a_product_mix_focus_share_is_measured_on_the_period_to_date():
    rule = RebateRule(kind="mix", rate=D(2), focus_line="8", focus_share=D(30))
    months = mix_months(rule, {1: {"7": 1000}, 2: {"7": 500, "8": 1000}, 3: {"7": 1000}})
    # February: $1,000 of $2,500 (40%) in line 8; March: $1,000 of $3,500 (28.6%), so the quarter earns nothing.
    assert [str(r.cumulative) for r in months[:3]] == ["0.00", "50.00", "0.00"]
    assert [str(r.amount) for r in months[:3]] == ["0.00", "50.00", "-50.00"]


def test_a_product_mix_rule_needs_a_condition_and_is_left_to_the_decimal_maths():
    with pytest.raises(ValueError, match="min_product_lines or a focus_share"):
        RebateRule(kind="mix", rate=D(2))
    with pytest.raises(ValueError, match="focus_share needs its focus_line"):
        RebateRule(kind="mix", rate=D(2), focus_share=D(30))
    assert RebateRule(kind="percent", rate=D(2), min_product_lines=2).min_product_lines is None


def test_a_product_mix_rule_is_done_in_integers():
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=MIX,
                           settlement_frequency="quarterly")
    mix = [PurchaseLine(date(2026, m, 1), D(amount), D(amount), product=line)
           for m, line, amount in ((1, "7", 1000), (2, "7", 1000), (3, "7", 1000), (3, "8", 500), (4, "7", 1000))]
    months = same_in_integers(terms, mix, as_of=date(2026, 6, 30), mix_lines=mix)
    assert [str(r.catch_up) for r in months[:3]] == ["0.00", "0.00", "40.00"]
    focus = RebateRule(kind="mix", rate=D(2), focus_line="8", focus_share=D(30))
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=focus,
                           settlement_frequency="quarterly")
    assert [str(r.cumulative) for r in same_in_integers(terms, mix, as_of=date(2026, 3, 31), mix_lines=mix)] == [
        "0.00", "0.00", "0.00"]  # $500 of $3,500 (14.3%) in line 8


def test_the_forecast_of_a_product_mix_or_clearance_period_reads_its_lines_to_date():
    from rebates.engine.outlook import forecast

    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=MIX,
                           settlement_frequency="quarterly")
    mix = [PurchaseLine(date(2026, 1, 1), D(1000), D(1000), product="7"),
           PurchaseLine(date(2026, 2, 1), D(500), D(500), product="8")]
    # February spans two lines: the quarter earns 2% of $1,500 to date and of March's projected $750.
    result = forecast(terms, mix, as_of=date(2026, 2, 28), mix_lines=mix)
    assert (result.rebate_to_date, result.rebate) == (D("30.00"), D("45.00"))

    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=CLEARANCE,
                           settlement_frequency="quarterly")
    lines = [PurchaseLine(date(2026, 1, 1), D(10), D(1000))]
    result = forecast(terms, lines, as_of=date(2026, 1, 31), clearance_lines=[
        PurchaseLine(date(2026, 1, 1), D(4), D(400))])
    # January: 1% of $1,000 and 3% of $400; February and March projected at $1,000 each, at 1%.
    assert (result.rebate_to_date, result.rebate) == (D("22.00"), D("42.00"))


# The worked example of docs/rule-kinds.md: 2% of referred customers' purchases, settled quarterly. The
# referrer buys $1,000 a month itself; N-1 (referred from March, 3 months) $500 in its window, N-2 (from May,
# 6 months) $1,000 in May and June: the database hands over only the lines in each window.
REFERRAL = RebateRule(kind="referral", rate=D(2))
REFERRED = ([PurchaseLine(date(2026, m, 1), D(5), D(500), product="N-1") for m in (3, 4, 5)]
            + [PurchaseLine(date(2026, m, 1), D(10), D(1000), product="N-2") for m in (5, 6)])


def test_worked_example_referral_the_referrer_earns_on_its_referred_customers_windows_only():
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=REFERRAL,
                           settlement_frequency="quarterly")
    own = [PurchaseLine(date(2026, m, 1), D(10), D(1000)) for m in range(1, 7)]
    months = calculate(terms, own, as_of=date(2026, 6, 30), referral_lines=REFERRED)
    assert [str(r.amount) for r in months] == ["0.00", "0.00", "10.00", "10.00", "30.00", "20.00"]
    assert [str(r.cumulative) for r in months][2::3] == ["10.00", "60.00"]
    # The referrer's own purchases are its eligible amount, and earn nothing by themselves.
    assert [r.eligible_amount for r in months] == [D(1000)] * 6
    assert calculate(terms, own, as_of=date(2026, 6, 30))[-1].cumulative == D("0.00")
    # The order of the referred lines never matters.
    assert calculate(terms, own, as_of=date(2026, 6, 30), referral_lines=REFERRED[::-1]) == months


def test_a_referral_rule_is_held_to_its_minimum_and_cap_on_the_referred_purchases():
    rule = RebateRule(kind="referral", rate=D(2), minimum=D(1500), cap=D("25.00"))
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 6, 1), rule=rule,
                           settlement_frequency="quarterly")
    months = calculate(terms, [], as_of=date(2026, 6, 30), referral_lines=REFERRED)
    # Q1: $500 < $1,500. Q2: $500 in April, $2,000 by May (2% = $40, capped at $25), April's $10 restated.
    assert [str(r.amount) for r in months] == ["0.00", "0.00", "0.00", "0.00", "25.00", "0.00"]
    assert months[4].catch_up == D("10.00")


def test_a_referral_rule_is_done_in_integers_and_other_kinds_ignore_referred_lines():
    referral = RebateRule(kind="referral", rate=D(2), minimum=D(1500), cap=D("25.00"))
    for rule in (REFERRAL, referral):
        terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 6, 1), rule=rule,
                               settlement_frequency="quarterly")
        own = [PurchaseLine(date(2026, m, 1), D(10), D(1000)) for m in range(1, 7)]
        assert same_in_integers(terms, own, as_of=date(2026, 6, 30), referral_lines=REFERRED)[-1].cumulative == (
            D("60.00") if rule is REFERRAL else D("25.00"))
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 6, 1),
                           rule=RebateRule(kind="percent", rate=D(2)))
    assert calculate(terms, [], as_of=date(2026, 6, 30), referral_lines=REFERRED)[-1].cumulative == D("0.00")


def test_the_forecast_of_a_referral_period_reads_the_referred_purchases_to_date():
    from rebates.engine.outlook import forecast

    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=REFERRAL,
                           settlement_frequency="quarterly")
    own = [PurchaseLine(date(2026, m, 1), D(10), D(1000)) for m in (4, 5)]
    result = forecast(terms, own, as_of=date(2026, 5, 31), referral_lines=REFERRED)
    # April and May's referred $2,000 earn $40.00; June is projected with no referred purchases (N-2's June,
    # not bought yet, is left out: the lines after the as-of month are not read).
    assert (result.rebate_to_date, result.rebate) == (D("40.00"), D("40.00"))
