"""Properties of the engine over random purchases and rules (hypothesis)."""

from dataclasses import fields
from datetime import date
from decimal import Decimal
from itertools import groupby

from hypothesis import given, settings
from hypothesis import strategies as st

from rebates.engine import (
    RULE_KINDS,
    AgreementTerms,
    Band,
    LaunchBonus,
    PurchaseLine,
    RebateRule,
    calculate,
    months_read_in_part,
    quantize_money,
)
from rebates.engine.periods import add_months
from rebates.engine.tiers import band_rate, incremental_total

# Decorators, not a profile: loading a profile here would change every other hypothesis test in the run.
# Random agreements cost more to draw, so they get fewer examples and the file stays at a few seconds.
examples = settings(max_examples=200, deadline=None)
agreement_examples = settings(max_examples=100, deadline=None)

YEAR_END = date(2026, 12, 31)
TIERS = (
    Band(Decimal("0"), Decimal("1")),
    Band(Decimal("1000"), Decimal("2")),
    Band(Decimal("5000"), Decimal("3")),
)


def purchase_lines(max_size=15, min_quantity=-50):
    """Lines of 2026 from (month, quantity, unit price in cents); credit notes unless min_quantity > 0."""
    line = st.tuples(st.integers(1, 12), st.integers(min_quantity, 900), st.integers(1, 5000))
    return st.lists(line, max_size=max_size).map(
        lambda rows: [
            PurchaseLine(date(2026, m, 1), Decimal(q), Decimal(q) * Decimal(cents) / 100, product="NEW-1")
            for m, q, cents in rows
        ]
    )


prices = st.integers(1, 5000).map(lambda cents: Decimal(cents) / 100)
bands = st.lists(
    st.tuples(st.integers(1, 20000), st.integers(0, 500)), max_size=3, unique_by=lambda band: band[0]
).map(
    lambda extra: (
        Band(Decimal("0"), Decimal("0.5")),
        *(Band(Decimal(t), Decimal(r) / 100) for t, r in sorted(extra)),
    )
)
caps = st.none() | st.integers(0, 50000).map(lambda cents: Decimal(cents) / 100)
minimums = st.none() | st.integers(0, 3000).map(Decimal)


# Each kind's settings, drawn; every kind of the registry needs one here (`rules` draws them all).
BASELINE = {"baseline": st.sampled_from(["last_year", "stated"]), "baseline_amount": st.just(Decimal("20000"))}
KIND_SETTINGS = {
    "per_unit": st.fixed_dictionaries({"rate": prices}),
    "percent": st.fixed_dictionaries({"rate": st.integers(0, 1000).map(lambda cents: Decimal(cents) / 100)}),
    "growth": st.fixed_dictionaries({"rate": st.just(Decimal("5")), **BASELINE}),
    "tiered": st.fixed_dictionaries({
        "rate_type": st.sampled_from(["per_unit", "percent"]),
        "tier_basis": st.sampled_from(["quantity", "amount", "percent_of_baseline"]),
        "tier_method": st.sampled_from(["retroactive", "retroactive_on_growth", "incremental"]),
        "bands": bands,
        **BASELINE,
    }),
    "clearance": st.fixed_dictionaries({
        "rate": st.integers(0, 1000).map(lambda cents: Decimal(cents) / 100),
        "clearance_rate": st.integers(0, 1000).map(lambda cents: Decimal(cents) / 100),
    }),
    "mix": st.fixed_dictionaries({
        "rate": st.integers(0, 1000).map(lambda cents: Decimal(cents) / 100),
        "min_product_lines": st.integers(1, 3),
    }) | st.fixed_dictionaries({
        "rate": st.integers(0, 1000).map(lambda cents: Decimal(cents) / 100),
        "focus_line": st.just("2"),
        "focus_share": st.integers(0, 100).map(Decimal),
    }),
    "referral": st.fixed_dictionaries({"rate": st.integers(0, 1000).map(lambda cents: Decimal(cents) / 100)}),
    "condition": st.integers(1, 12).flatmap(lambda window: st.fixed_dictionaries({
        "rate": st.integers(0, 1000).map(lambda cents: Decimal(cents) / 100),
        "active_months": st.integers(1, window),
        "active_window": st.just(window),
    })),
}


def test_the_random_rules_draw_every_kind_of_the_registry():
    assert set(KIND_SETTINGS) == set(RULE_KINDS)


@st.composite
def rules(draw):
    common = dict(
        cap=draw(caps),
        minimum=draw(minimums),
        commitment_rule=draw(st.booleans()),
        bonuses=draw(st.sampled_from([(), (LaunchBonus("NEW-1", Decimal("100"), Decimal("1")),)])),
    )
    kind = draw(st.sampled_from(list(RULE_KINDS)))
    return RebateRule(kind=kind, **draw(KIND_SETTINGS[kind]), **common)


@st.composite
def agreements(draw):
    return AgreementTerms(
        start_month=date(2026, 1, 1),
        end_month=date(2026, 12, 1),
        rule=draw(rules()),
        settlement_frequency=draw(st.sampled_from(["annual", "quarterly", "monthly"])),
        committed_monthly_quantity=draw(st.none() | st.integers(1, 500).map(Decimal)),
    )


# Last year's baseline: the same amount every month, in dollars.
baselines = st.integers(0, 20000).map(Decimal)


def on_clearance(lines):
    """The lines of a product on clearance: those of the months from March to August."""
    return [line for line in lines if 3 <= line.month.month <= 8]


def by_line(lines):
    """The lines by product line: a line's units decide it (lines "0", "1" and "2")."""
    return [PurchaseLine(line.month, line.quantity, line.amount, product=str(int(line.quantity) % 3))
            for line in lines]


def referred(lines):
    """The lines of referred customers in their windows: those with an even number of units, named by a
    customer code their units decide ("N-0" to "N-3")."""
    return [PurchaseLine(line.month, line.quantity, line.amount, product=f"N-{int(line.quantity) % 4}")
            for line in lines if int(line.quantity) % 2 == 0]


def run(terms, lines, baseline=Decimal("0")):
    last_year = [PurchaseLine(date(2025, m, 1), Decimal("100"), baseline) for m in range(1, 13)]
    return calculate(terms, lines, as_of=YEAR_END, last_year_lines=last_year, bonus_lines=lines,
                     clearance_lines=on_clearance(lines), mix_lines=by_line(lines), referral_lines=referred(lines))


def tiered(method: str) -> AgreementTerms:
    rule = RebateRule(
        kind="tiered", rate_type="percent", tier_basis="quantity", tier_method=method, bands=TIERS
    )
    return AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule)


def running_totals(lines):
    quantity = amount = Decimal("0")
    for m in range(1, 13):
        quantity += sum((line.quantity for line in lines if line.month.month == m), Decimal("0"))
        amount += sum((line.amount for line in lines if line.month.month == m), Decimal("0"))
        yield quantity, amount


@given(agreements(), purchase_lines(), baselines, st.randoms(use_true_random=False))
@agreement_examples
def test_the_order_of_lines_never_changes_the_result(terms, lines, baseline, random):
    shuffled = lines[:]
    random.shuffle(shuffled)
    assert run(terms, lines, baseline) == run(terms, shuffled, baseline)


@given(purchase_lines())
@examples
def test_retroactive_cumulative_is_the_reached_rate_on_all_volume_to_date(lines):
    results = run(tiered("retroactive"), lines)
    for result, (quantity, amount) in zip(results, running_totals(lines), strict=True):
        expected = max(Decimal("0"), band_rate(TIERS, quantity) * amount / 100)
        assert result.cumulative == quantize_money(expected)


@given(purchase_lines(min_quantity=1), prices)
@examples
def test_incremental_cumulative_is_the_sum_over_bands(lines, price):
    lines = [PurchaseLine(line.month, line.quantity, line.quantity * price) for line in lines]
    results = run(tiered("incremental"), lines)
    for result, (quantity, _) in zip(results, running_totals(lines), strict=True):
        # At one price, each band's units are that many units of money at the band's percent.
        assert result.cumulative == quantize_money(incremental_total(TIERS, quantity) * price / 100)


@given(agreements(), purchase_lines(), baselines)
@agreement_examples
def test_a_period_earns_between_nothing_and_its_cap(terms, lines, baseline):
    cap = terms.rule.cap
    for r in run(terms, lines, baseline):
        assert r.cumulative >= 0
        assert cap is None or r.cumulative <= cap


@given(agreements(), purchase_lines(), baselines)
@agreement_examples
def test_months_add_up_to_the_period_cumulative_and_parts_to_the_month(terms, lines, baseline):
    for _, period in groupby(run(terms, lines, baseline), key=lambda r: r.period_start):
        period = list(period)
        assert sum((r.amount for r in period), Decimal("0")) == period[-1].cumulative
        assert all(r.amount == r.accrual + r.catch_up + r.bonus for r in period)


@given(agreements(), purchase_lines(), baselines)
@agreement_examples
def test_every_figure_is_a_decimal_never_a_float(terms, lines, baseline):
    for r in run(terms, lines, baseline):
        figures = [
            getattr(r, f.name) for f in fields(r) if f.name not in ("month", "period_start", "shortfall")
        ]
        assert all(isinstance(x, Decimal) for x in figures if x is not None)
        assert r.rebate_per_unit is not None or r.quantity == 0


@given(agreements(), purchase_lines(), baselines, st.lists(st.integers(1, 12), max_size=4))
@agreement_examples
def test_recomputing_only_changed_months_gives_the_whole_terms_results_for_the_months_that_can_differ(
    terms, lines, baseline, changed
):
    whole = run(terms, lines, baseline)
    changed = {date(2026, m, 1) for m in changed}
    # A conditional rule's month also decides whether its next months count: those can differ too.
    reach = terms.rule.kind_class.reach(terms.rule)
    differ = {add_months(month, step) for month in changed for step in range(reach + 1)}
    last_year = [PurchaseLine(date(2025, m, 1), Decimal("100"), baseline) for m in range(1, 13)]
    part = calculate(terms, lines, as_of=YEAR_END, last_year_lines=last_year, bonus_lines=lines,
                     changed_months=changed, clearance_lines=on_clearance(lines), mix_lines=by_line(lines),
                     referral_lines=referred(lines))
    # From the first changed month of each period to the period's end.
    assert part == tuple(
        r for r in whole if any(r.period_start <= month <= r.month for month in differ)
    )
    # The run reads the ledger's months of `months_read_in_part` only: the months outside it change nothing.
    window = months_read_in_part(terms, changed, as_of=YEAR_END)
    read = [line for line in lines if window is not None and window[0] <= line.month <= window[1]]
    assert calculate(terms, read, as_of=YEAR_END, last_year_lines=last_year, bonus_lines=lines,
                     changed_months=changed, clearance_lines=on_clearance(lines), mix_lines=by_line(lines),
                     referral_lines=referred(lines)) == part


@given(purchase_lines(), st.randoms(use_true_random=False), minimums, caps)
@examples
def test_a_referral_rule_earns_its_rate_on_the_referred_lines_in_any_order(lines, random, minimum, cap):
    terms = AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1),
                           rule=RebateRule(kind="referral", rate=Decimal("2"), minimum=minimum, cap=cap),
                           settlement_frequency="quarterly")
    shuffled = referred(lines)
    random.shuffle(shuffled)
    results = calculate(terms, lines, as_of=YEAR_END, referral_lines=referred(lines))
    assert results == calculate(terms, lines[::-1], as_of=YEAR_END, referral_lines=shuffled)
    for _, period in groupby(results, key=lambda r: r.period_start):
        period = list(period)
        amount = sum((line.amount for line in referred(lines)
                      if period[0].month <= line.month <= period[-1].month), Decimal("0"))
        reached = minimum is None or amount >= minimum
        expected = quantize_money(max(Decimal("0"), amount * 2 / 100)) if reached else Decimal("0")
        assert period[-1].cumulative == (expected if cap is None else min(expected, cap))
