"""Recomputing in part a rule measured against last year's same period (hypothesis): given the months
`months_in_part` names afresh and every other month as the ledger holds it, the engine gives the whole
term's results for every month that can differ, and every other month is as it was."""

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from rebates.engine import AgreementTerms, PurchaseLine, RebateRule, calculate, months_in_part
from rebates.engine.periods import add_months

AS_OF = date(2026, 12, 31)
START = date(2025, 7, 1)  # an 18-month term: a month of it is last year's for a later one
FIRST_READ = add_months(START, -12)
MONTHS = 30  # from a year before the term to its end

months = st.integers(0, MONTHS - 1).map(lambda i: add_months(FIRST_READ, i))
lines = st.lists(st.tuples(months, st.integers(-20, 900), st.integers(1, 5000)), max_size=20).map(
    lambda rows: [PurchaseLine(m, Decimal(q), Decimal(q) * Decimal(cents) / 100) for m, q, cents in rows])


@st.composite
def growth_terms(draw):
    per_unit = draw(st.booleans())
    rule = RebateRule(
        kind="growth", rate_type="per_unit" if per_unit else "percent", baseline="last_year",
        rate=Decimal(draw(st.integers(1, 2000))) / 100,
        cap=draw(st.none() | st.integers(0, 500000).map(lambda cents: Decimal(cents) / 100)),
    )
    return AgreementTerms(start_month=START, end_month=date(2026, 12, 1), rule=rule,
                          settlement_frequency=draw(st.sampled_from(["annual", "quarterly", "monthly"])))


def results(terms, given, **options):
    return calculate(terms, given, as_of=AS_OF, last_year_lines=given, **options)


@given(growth_terms(), lines, lines)
@settings(max_examples=150, deadline=None)
def test_a_rule_against_last_year_recomputed_in_part_gives_the_whole_terms_results(terms, before, late):
    after = before + late
    old, new = results(terms, before), results(terms, after)
    changed = {line.month for line in late}
    recompute, read = months_in_part(terms, changed, as_of=AS_OF)
    # The ledger holds each month's own purchases in scope, as the engine was given them last time.
    held = [PurchaseLine(r.month, r.quantity, r.eligible_amount) for r in old if r.month not in read]
    part = {r.month: r for r in results(terms, [line for line in after if line.month in read] + held,
                                        changed_months=recompute)}
    was = {r.month: r for r in old}
    for result in new:
        assert part.get(result.month, was[result.month]) == result


def test_the_periods_holding_a_changed_month_are_what_a_kind_reads_of_its_own_lines_in_part():
    from rebates.engine import periods_holding

    def terms(kind, **settings):
        rule = RebateRule(kind=kind, rate_type="percent", rate=Decimal(2), **settings)
        return AgreementTerms(start_month=date(2026, 1, 1), end_month=date(2026, 12, 1), rule=rule,
                              settlement_frequency="quarterly")

    mix = terms("mix", min_product_lines=2)
    as_of = date(2026, 8, 31)
    assert periods_holding(mix, {date(2026, 2, 1)}, as_of=as_of) == {date(2026, m, 1) for m in (1, 2, 3)}
    # A period still going on is read to the as-of month; a month after it, or before the term, reads nothing.
    assert periods_holding(mix, {date(2026, 7, 1)}, as_of=as_of) == {date(2026, 7, 1), date(2026, 8, 1)}
    assert periods_holding(mix, {date(2026, 10, 1), date(2025, 12, 1)}, as_of=as_of) == frozenset()
    # A conditional month decides the next `active_window - 1` months: March moves April and May too.
    condition = terms("condition", active_months=2, active_window=3)
    assert periods_holding(condition, {date(2026, 3, 1)}, as_of=as_of) == {date(2026, m, 1) for m in range(1, 7)}
