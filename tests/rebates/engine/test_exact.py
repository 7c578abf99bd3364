"""The engine's integer maths (exact.py) gives the very results of its Decimal maths, the reference."""

from datetime import date
from decimal import Decimal, InvalidOperation

import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from rebates.engine import AgreementTerms, Band, PurchaseLine, RebateRule, calculate, exact
from rebates.engine.calculate import accrual_months, calculate_decimal
from rebates.engine.exact import integer_rule

from .test_properties import YEAR_END, agreements, baselines, by_line, on_clearance, purchase_lines, referred

same = settings(max_examples=300, deadline=None)


def odd_lines():
    """Lines in thousandths of a unit and in cents, credit notes among them, some months with several."""
    line = st.tuples(st.integers(1, 12), st.integers(-50_000, 900_000), st.integers(-20_000, 2_000_000),
                     st.sampled_from(["NEW-1", "OLD-2"]))
    return st.lists(line, max_size=20).map(lambda rows: [
        PurchaseLine(date(2026, m, 1), Decimal(q) / 1000, Decimal(c) / 100, product=p) for m, q, c, p in rows
    ])


PRODUCTS = ("NEW-1", "OLD-2")


@st.composite
def kind_lines(draw, lines):
    """What the newer kinds read besides the agreement's lines, drawn for `lines`: the part bought of products on
    clearance within their window (clearance), each line's product line ("1" to "3", for the product mix kind),
    and referred customers' lines in their referral months (referral; "N-1" to "N-3")."""
    first, last = sorted(draw(st.tuples(st.integers(1, 12), st.integers(1, 12))))
    cleared = draw(st.sets(st.sampled_from(PRODUCTS)))
    product_lines = draw(st.lists(st.sampled_from(["1", "2", "3"]), min_size=len(lines), max_size=len(lines)))
    referral = draw(st.lists(st.tuples(st.integers(1, 12), st.integers(-50_000, 900_000),
                                       st.integers(-20_000, 2_000_000), st.integers(1, 3)), max_size=8))
    return dict(
        clearance_lines=[line for line in lines if line.product in cleared and first <= line.month.month <= last],
        mix_lines=[PurchaseLine(line.month, line.quantity, line.amount, product=product_line)
                   for line, product_line in zip(lines, product_lines, strict=True)],
        referral_lines=[PurchaseLine(date(2026, m, 1), Decimal(q) / 1000, Decimal(c) / 100, product=f"N-{n}")
                        for m, q, c, n in referral],
    )


def derived_kind_lines(lines):
    """The newer kinds' lines made from `lines` (as tests/rebates/engine/test_properties.py makes them)."""
    return dict(clearance_lines=on_clearance(lines), mix_lines=by_line(lines), referral_lines=referred(lines))


def both(terms, lines, baseline, changed=None, kinds=None):
    last_year = [PurchaseLine(date(2025, m, 1), Decimal("100"), baseline) for m in range(1, 13)]
    options = dict(as_of=YEAR_END, last_year_lines=last_year, bonus_lines=lines, changed_months=changed,
                   **(derived_kind_lines(lines) if kinds is None else kinds))
    return calculate(terms, lines, **options), calculate_decimal(terms, lines, **options)


def assert_identical(integers, decimals):
    """Equal, and every figure written the same (its places and sign too), month by month."""
    assert integers == decimals
    assert [repr(r) for r in integers] == [repr(r) for r in decimals]


@given(agreements(), (purchase_lines() | odd_lines()).flatmap(lambda lines: st.tuples(st.just(lines),
                                                                                      kind_lines(lines))),
       baselines, st.none() | st.sets(st.integers(1, 12).map(lambda m: date(2026, m, 1)), max_size=3))
@same
def test_integers_and_decimals_give_identical_months_for_every_kind(terms, lines_and_kinds, baseline, changed):
    lines, kinds = lines_and_kinds
    assert_identical(*both(terms, lines, baseline, changed, kinds))


odd_rates = st.integers(0, 10**6).map(lambda n: Decimal(n) / 10**5)  # some with more places than 4
odd_minimums = st.none() | st.integers(0, 10**7).map(lambda n: Decimal(n) / 10**4)
odd_bands = st.lists(st.tuples(st.integers(1, 10**7), odd_rates), max_size=3, unique_by=lambda b: b[0]).map(
    lambda extra: (Band(Decimal(0), Decimal("0.5")), *(Band(Decimal(t) / 1000, r) for t, r in sorted(extra)))
)


@st.composite
def odd_rules(draw):
    """Rules whose figures the integer scales may or may not hold: those that do not stay in Decimals."""
    kind = draw(st.sampled_from(["per_unit", "percent", "tiered", "growth", "clearance", "mix", "condition",
                                 "referral"]))
    cap = draw(st.none() | st.integers(0, 10**7).map(lambda cents: Decimal(cents) / 100))
    common = dict(minimum=draw(odd_minimums), cap=cap, commitment_rule=draw(st.booleans()))
    if kind == "tiered":
        settings_ = dict(rate_type=draw(st.sampled_from(["per_unit", "percent"])),
                         tier_basis=draw(st.sampled_from(["quantity", "amount"])),
                         tier_method=draw(st.sampled_from(["retroactive", "retroactive_on_growth", "incremental"])),
                         bands=draw(odd_bands), baseline="last_year")
    else:
        settings_ = dict(rate=draw(odd_rates))
        if kind == "growth":
            settings_.update(baseline="stated", baseline_amount=draw(st.integers(0, 10**7).map(Decimal)) / 100)
        elif kind == "clearance":
            settings_.update(clearance_rate=draw(odd_rates))
        elif kind == "mix":
            spans = draw(st.booleans())
            focus = not spans or draw(st.booleans())
            settings_.update(min_product_lines=draw(st.integers(1, 3)) if spans else None,
                             focus_line=draw(st.sampled_from(["1", "2", "3"])) if focus else None,
                             focus_share=draw(st.integers(0, 10**7).map(lambda n: Decimal(n) / 10**5))
                             if focus else None)
        elif kind == "condition":
            window = draw(st.integers(1, 12))
            settings_.update(active_window=window, active_months=draw(st.integers(1, window)))
    return RebateRule(kind=kind, **settings_, **common)


@given(odd_rules(), st.sampled_from(["annual", "quarterly", "monthly"]),
       odd_lines().flatmap(lambda lines: st.tuples(st.just(lines), kind_lines(lines))), baselines)
@same
def test_integers_and_decimals_agree_on_odd_rates_thresholds_and_minimums(rule, frequency, lines_and_kinds,
                                                                          baseline):
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule,
                           settlement_frequency=frequency)
    lines, kinds = lines_and_kinds
    assert_identical(*both(terms, lines, baseline, kinds=kinds))


def test_the_common_kinds_are_done_in_integers():
    tiers = (Band(Decimal(0), Decimal("1.5")), Band(Decimal(1000), Decimal(2)))
    done = [
        RebateRule(kind="per_unit", rate=Decimal("0.25"), minimum=Decimal(100)),
        RebateRule(kind="percent", rate=Decimal("2.5"), cap=Decimal("1000.00")),
        RebateRule(kind="growth", rate=Decimal(5), baseline="stated", baseline_amount=Decimal(20000)),
        RebateRule(kind="growth", rate=Decimal(5), baseline="last_year"),
        *(RebateRule(kind="tiered", rate_type=unit, tier_basis=basis, tier_method=method, bands=tiers,
                     baseline="last_year")
          for unit in ("per_unit", "percent") for basis in ("quantity", "amount")
          for method in ("retroactive", "retroactive_on_growth", "incremental")),
    ]
    lines = [PurchaseLine(date(2026, m, 1), Decimal(m * 100), Decimal(m * 1234) / 10) for m in range(1, 13)]
    for rule in done:
        terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule)
        months = accrual_months(terms, YEAR_END)
        assert integer_rule(rule) is not None
        # The integer maths takes the whole calculation: the comparisons above are not between two Decimal runs.
        assert exact.calculate(terms, months, lines, lines, (), None) is not None, rule
    # Bands read as a percent of the baseline divide (as does a stated baseline in units): Decimals do those.
    assert integer_rule(RebateRule(kind="tiered", rate_type="percent", tier_basis="percent_of_baseline",
                                   tier_method="retroactive", bands=tiers, baseline="last_year")) is None
    assert integer_rule(RebateRule(kind="percent", rate=Decimal("2.12345"))) is None


NEWER_KINDS = [
    RebateRule(kind="clearance", rate=Decimal("1.5"), clearance_rate=Decimal(3), minimum=Decimal(1000)),
    RebateRule(kind="mix", rate=Decimal(2), min_product_lines=2, cap=Decimal("500.00")),
    RebateRule(kind="mix", rate=Decimal(2), focus_line="1", focus_share=Decimal("33.5")),
    RebateRule(kind="condition", rate=Decimal(2), active_months=2, active_window=3),
    RebateRule(kind="referral", rate=Decimal(2), minimum=Decimal(300)),
]


@pytest.mark.parametrize("rule", NEWER_KINDS, ids=lambda rule: rule.kind)
def test_the_newer_kinds_are_done_in_integers_with_the_lines_they_read(rule):
    lines = [PurchaseLine(date(2026, m, 1), Decimal(m * 100), Decimal(m * 1234) / 10, product=PRODUCTS[m % 2])
             for m in range(1, 13) if m != 5]
    kinds = derived_kind_lines(lines)
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule,
                           settlement_frequency="quarterly")
    months = accrual_months(terms, YEAR_END)
    assert exact.calculate(terms, months, lines, lines, (), None, **kinds) is not None
    integers, decimals = both(terms, lines, Decimal(0), kinds=kinds)
    assert_identical(integers, decimals)
    assert sum(result.amount for result in integers) > 0  # the rule earns: not a comparison of two nothings
    # A figure the kind reads in more places than cents hands the whole calculation to the Decimals.
    odd = {name: [PurchaseLine(line.month, line.quantity, line.amount + Decimal("0.001"), line.product)
                  for line in kind] for name, kind in kinds.items()}
    read = ({"clearance": "clearance_lines", "mix": "mix_lines", "referral": "referral_lines"}.get(rule.kind))
    if read is not None:
        assert exact.calculate(terms, months, lines, lines, (), None, **{**kinds, read: odd[read]}) is None
        assert_identical(*both(terms, lines, Decimal(0), kinds={**kinds, read: odd[read]}))


TIERS_ON_UNITS = (Band(Decimal(0), Decimal(1)), Band(Decimal(1000), Decimal(2)))


def test_incremental_percent_bands_on_units_pay_each_bands_share_of_the_amount():
    # 1,000 units at 1% and 200 at 2% of $10,000.00 bought in 1,200 units: (1,000 + 400) / 1,200 of $100.00.
    rule = RebateRule(kind="tiered", rate_type="percent", tier_basis="quantity", tier_method="incremental",
                      bands=TIERS_ON_UNITS)
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule)
    lines = [PurchaseLine(date(2026, 1, 1), Decimal("1200.000"), Decimal("10000.00"))]
    assert exact.calculate(terms, accrual_months(terms, YEAR_END), lines, (), (), None) is not None
    integers, decimals = both(terms, lines, Decimal(0))
    assert integers[0].cumulative == Decimal("116.67")
    assert_identical(integers, decimals)


@given(st.integers(1, 999_999), st.integers(1, 99_999_999), st.integers(0, 3))
@same
def test_a_share_of_the_amount_on_a_half_cent_or_a_repeating_quotient_rounds_as_the_decimals_do(
    units, cents, place
):
    # 3 units at 1% and $0.50 are 0.5 cent exactly; thirds and sevenths of a unit repeat for ever.
    rule = RebateRule(kind="tiered", rate_type="percent", tier_basis="quantity", tier_method="incremental",
                      bands=TIERS_ON_UNITS)
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule)
    lines = [PurchaseLine(date(2026, 1, 1), Decimal(units).scaleb(-place), Decimal(cents) / 100),
             PurchaseLine(date(2026, 2, 1), Decimal(3), Decimal("0.50")),
             PurchaseLine(date(2026, 3, 1), Decimal(7), Decimal("1.00"))]
    assert_identical(*both(terms, lines, Decimal(0)))


@st.composite
def huge_lines(draw):
    """Lines of every size up to far past what the integer maths takes (it must then hand over whole)."""
    size = draw(st.integers(0, 30))
    line = st.tuples(st.integers(1, 12), st.integers(-10**size, 10**size), st.integers(-10**size, 10**(size + 2)))
    return [PurchaseLine(date(2026, m, 1), Decimal(q) / 1000, Decimal(c) / 100) for m, q, c in draw(st.lists(
        line, max_size=12))]


@given(odd_rules(), huge_lines(), baselines)
@same
def test_integers_and_decimals_agree_on_figures_of_every_size(rule, lines, baseline):
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule)
    last_year = [PurchaseLine(date(2025, m, 1), Decimal("100"), baseline) for m in range(1, 13)]
    options = dict(as_of=YEAR_END, last_year_lines=last_year, **derived_kind_lines(lines))
    try:
        decimals = calculate_decimal(terms, lines, **options)
    except InvalidOperation:
        reject()  # past what the Decimals themselves can round to the cent (no column holds such figures)
    assert_identical(calculate(terms, lines, **options), decimals)


@pytest.mark.parametrize(("rule", "quantity", "amount"), [
    # $1.0001 a unit on 10^21 units ends in ...0.0049999|5: 28 digits round it up to half a cent, and on.
    (RebateRule(kind="per_unit", rate=Decimal("1.0001")), "1000000000000000000099.995", "1.00"),
    # A share of $96 thousand trillion bought over 73,347 units: its 28-digit quotient rounds to the next cent.
    (RebateRule(kind="tiered", rate_type="percent", tier_basis="quantity", tier_method="incremental",
                bands=(Band(Decimal(0), Decimal(1)), Band(Decimal(1), Decimal(2)))),
     "73347.234", "96025074865783467103204.50"),
    # The same bands, figures small enough for every product but the share's: its exact fraction is a hair
    # below half a cent, its 28-digit quotient on it.
    (RebateRule(kind="tiered", rate_type="percent", tier_basis="quantity", tier_method="incremental",
                bands=(Band(Decimal(0), Decimal(1)), Band(Decimal(1), Decimal(2)))),
     "100000000000000.003", "16650000000000000.50"),
])
def test_figures_whose_decimal_maths_rounds_at_28_digits_are_left_to_the_decimals(rule, quantity, amount):
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule)
    lines = [PurchaseLine(date(2026, 1, 1), Decimal(quantity), Decimal(amount))]
    assert exact.calculate(terms, accrual_months(terms, YEAR_END), lines, (), (), None) is None
    assert_identical(*both(terms, lines, Decimal(0)))


@st.composite
def flat_rules(draw):
    """Rules of one rate all period with no minimum, cap or bonus: the integer maths's shorter loop."""
    kind = draw(st.sampled_from(["per_unit", "percent", "growth"]))
    rate = draw(st.integers(0, 10**5).map(lambda n: Decimal(n) / 10**4))
    growth = dict(baseline=draw(st.sampled_from(["last_year", "stated"])),
                  baseline_amount=draw(st.integers(0, 10**7).map(Decimal)) / 100) if kind == "growth" else {}
    return RebateRule(kind=kind, rate=rate, commitment_rule=draw(st.booleans()), **growth)


two_years = st.lists(st.tuples(st.integers(0, 23), st.integers(-50_000, 900_000), st.integers(-20_000, 2_000_000)),
                     max_size=30).map(lambda rows: [
    PurchaseLine(date(2025 + i // 12, i % 12 + 1, 1), Decimal(q) / 1000, Decimal(c) / 100) for i, q, c in rows])


@given(flat_rules(), st.sampled_from(["annual", "quarterly", "monthly"]), st.none() | st.integers(1, 500),
       two_years, st.none() | st.sets(st.integers(1, 12).map(lambda m: date(2026, m, 1)), max_size=3))
@same
def test_flat_rules_agree_with_the_decimals_reading_last_year_from_the_same_lines(
    rule, frequency, committed, lines, changed
):
    # As the accrual run calls it: one list of lines holds the term's months and the year before.
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule,
                           settlement_frequency=frequency,
                           committed_monthly_quantity=None if committed is None else Decimal(committed))
    options = dict(as_of=YEAR_END, last_year_lines=lines, changed_months=changed)
    assert_identical(calculate(terms, lines, **options), calculate_decimal(terms, lines, **options))


@given(odd_rules(), odd_lines(), st.booleans())
@same
def test_lines_given_once_as_an_iterator_give_the_same_months(rule, lines, same_iterator):
    # The integer maths may read the lines and hand over to the Decimals, which must still see every one.
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule)
    kinds = derived_kind_lines(lines)
    as_list = calculate(terms, lines, as_of=YEAR_END, last_year_lines=[] if same_iterator else lines, **kinds)
    iterator = iter(lines)
    last_year = iterator if same_iterator else iter(lines)
    assert calculate(terms, iterator, as_of=YEAR_END, last_year_lines=last_year,
                     **{name: iter(kind) for name, kind in kinds.items()}) == as_list


def test_a_month_result_built_quickly_is_the_same_month_result():
    from dataclasses import fields

    from rebates.engine import MonthResult
    from rebates.engine.results import month_result

    values = [date(2026, 3, 1), date(2026, 1, 1), *(Decimal(n) for n in range(2, 12)), True]
    assert [f.name for f in fields(MonthResult)] == list(month_result.__code__.co_varnames[:len(values)])
    quick, made = month_result(*values), MonthResult(*values)
    assert quick == made and repr(quick) == repr(made) and hash(quick) == hash(made)
