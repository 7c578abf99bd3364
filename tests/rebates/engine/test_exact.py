"""The engine's integer maths (exact.py) gives the very results of its Decimal maths, the reference."""

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rebates.engine import AgreementTerms, Band, PurchaseLine, RebateRule, calculate
from rebates.engine.calculate import calculate_decimal
from rebates.engine.exact import integer_rule

from .test_properties import YEAR_END, agreements, baselines, purchase_lines

same = settings(max_examples=300, deadline=None)


def odd_lines():
    """Lines in thousandths of a unit and in cents, credit notes among them, some months with several."""
    line = st.tuples(st.integers(1, 12), st.integers(-50_000, 900_000), st.integers(-20_000, 2_000_000),
                     st.sampled_from(["NEW-1", "OLD-2"]))
    return st.lists(line, max_size=20).map(lambda rows: [
        PurchaseLine(date(2026, m, 1), Decimal(q) / 1000, Decimal(c) / 100, product=p) for m, q, c, p in rows
    ])


def both(terms, lines, baseline, changed=None):
    last_year = [PurchaseLine(date(2025, m, 1), Decimal("100"), baseline) for m in range(1, 13)]
    options = dict(as_of=YEAR_END, last_year_lines=last_year, bonus_lines=lines, changed_months=changed)
    return calculate(terms, lines, **options), calculate_decimal(terms, lines, **options)


def assert_identical(integers, decimals):
    """Equal, and every figure written the same (its places and sign too), month by month."""
    assert integers == decimals
    assert [repr(r) for r in integers] == [repr(r) for r in decimals]


@given(agreements(), purchase_lines() | odd_lines(), baselines,
       st.none() | st.sets(st.integers(1, 12).map(lambda m: date(2026, m, 1)), max_size=3))
@same
def test_integers_and_decimals_give_identical_months_for_every_kind(terms, lines, baseline, changed):
    assert_identical(*both(terms, lines, baseline, changed))


odd_rates = st.integers(0, 10**6).map(lambda n: Decimal(n) / 10**5)  # some with more places than 4
odd_minimums = st.none() | st.integers(0, 10**7).map(lambda n: Decimal(n) / 10**4)
odd_bands = st.lists(st.tuples(st.integers(1, 10**7), odd_rates), max_size=3, unique_by=lambda b: b[0]).map(
    lambda extra: (Band(Decimal(0), Decimal("0.5")), *(Band(Decimal(t) / 1000, r) for t, r in sorted(extra)))
)


@st.composite
def odd_rules(draw):
    """Rules whose figures the integer scales may or may not hold: those that do not stay in Decimals."""
    kind = draw(st.sampled_from(["per_unit", "percent", "tiered", "growth"]))
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
    return RebateRule(kind=kind, **settings_, **common)


@given(odd_rules(), st.sampled_from(["annual", "quarterly", "monthly"]), odd_lines(), baselines)
@same
def test_integers_and_decimals_agree_on_odd_rates_thresholds_and_minimums(rule, frequency, lines, baseline):
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule,
                           settlement_frequency=frequency)
    assert_identical(*both(terms, lines, baseline))


def test_the_common_kinds_are_done_in_integers():
    tiers = (Band(Decimal(0), Decimal("1.5")), Band(Decimal(1000), Decimal(2)))
    done = [
        RebateRule(kind="per_unit", rate=Decimal("0.25"), minimum=Decimal(100)),
        RebateRule(kind="percent", rate=Decimal("2.5"), cap=Decimal("1000.00")),
        RebateRule(kind="growth", rate=Decimal(5), baseline="stated", baseline_amount=Decimal(20000)),
        *(RebateRule(kind="tiered", rate_type=unit, tier_basis=basis, tier_method=method, bands=tiers,
                     baseline="last_year")
          for unit in ("per_unit", "percent") for basis in ("quantity", "amount")
          for method in ("retroactive", "retroactive_on_growth")),
        RebateRule(kind="tiered", rate_type="per_unit", tier_basis="quantity", tier_method="incremental", bands=tiers),
        RebateRule(kind="tiered", rate_type="percent", tier_basis="amount", tier_method="incremental", bands=tiers),
    ]
    assert all(integer_rule(rule) is not None for rule in done)
    # Bands read as a percent of the baseline divide (as does a stated baseline in units): Decimals do those.
    assert integer_rule(RebateRule(kind="tiered", rate_type="percent", tier_basis="percent_of_baseline",
                                   tier_method="retroactive", bands=tiers, baseline="last_year")) is None
    assert integer_rule(RebateRule(kind="percent", rate=Decimal("2.12345"))) is None


def test_a_month_result_built_quickly_is_the_same_month_result():
    from dataclasses import fields

    from rebates.engine import MonthResult
    from rebates.engine.results import month_result

    values = [date(2026, 3, 1), date(2026, 1, 1), *(Decimal(n) for n in range(2, 12)), True]
    assert [f.name for f in fields(MonthResult)] == list(month_result.__code__.co_varnames[:len(values)])
    quick, made = month_result(*values), MonthResult(*values)
    assert quick == made and repr(quick) == repr(made) and hash(quick) == hash(made)
