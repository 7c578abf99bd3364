"""The six worked examples of docs/product.md ("Rules that must hold" -> "Accrual"), with their numbers."""

from datetime import date
from decimal import Decimal

from rebates.engine import AgreementTerms, Band, PurchaseLine, RebateRule, calculate

YEAR_END = date(2026, 12, 31)
TIERS = (
    Band(Decimal("0"), Decimal("1")),
    Band(Decimal("1000"), Decimal("2")),
    Band(Decimal("5000"), Decimal("3")),
)


def month(number: int, year: int = 2026) -> date:
    return date(year, number, 1)


def term(rule: RebateRule, **kwargs) -> AgreementTerms:
    return AgreementTerms(start_month=month(1), end_month=month(12), rule=rule, **kwargs)


def every_month(quantity: str, price: str, year: int = 2026) -> list[PurchaseLine]:
    amount = Decimal(quantity) * Decimal(price)
    return [PurchaseLine(month(m, year), Decimal(quantity), amount) for m in range(1, 13)]


SEED = term(RebateRule(kind="per_unit", rate=Decimal("0.25")))
SEED_LINES = every_month("10", "12.10")


def tiered(method: str) -> AgreementTerms:
    return term(
        RebateRule(kind="tiered", rate_type="percent", tier_basis="quantity", tier_method=method, bands=TIERS)
    )


def test_seed_example_accrues_2_50_every_month():
    results = calculate(SEED, SEED_LINES, as_of=YEAR_END)

    assert [r.amount for r in results] == [Decimal("2.50")] * 12
    assert [r.accrual for r in results] == [Decimal("2.50")] * 12


def test_seed_example_ends_december_at_30_on_120_units_and_1452_of_purchases():
    results = calculate(SEED, SEED_LINES, as_of=YEAR_END)

    assert results[-1].month == month(12)
    assert results[-1].cumulative == Decimal("30.00")
    assert sum(r.quantity for r in results) == Decimal("120")
    assert sum(r.eligible_amount for r in results) == Decimal("1452.00")


def test_retroactive_tiers_book_40_in_january_and_february():
    results = calculate(tiered("retroactive"), every_month("400", "10.00"), as_of=YEAR_END)

    assert [r.amount for r in results[:2]] == [Decimal("40.00"), Decimal("40.00")]


def test_march_books_catch_up_when_second_tier_is_crossed():
    march = calculate(tiered("retroactive"), every_month("400", "10.00"), as_of=YEAR_END)[2]

    assert march.amount == Decimal("160.00")
    assert march.catch_up == Decimal("80.00")
    assert march.accrual == Decimal("80.00")
    assert march.cumulative == Decimal("240.00")
    assert march.rate == Decimal("2")


def test_incremental_tiers_book_each_band_at_its_own_rate_in_march():
    march = calculate(tiered("incremental"), every_month("400", "10.00"), as_of=YEAR_END)[2]

    # 200 units at 1 % ($20.00) plus 200 units at 2 % ($40.00).
    assert march.amount == Decimal("60.00")
    assert march.catch_up == Decimal("0.00")


def test_growth_earns_5_percent_above_last_years_same_period():
    rule = RebateRule(kind="growth", rate=Decimal("5"), baseline="last_year")
    # Last year $100,000.00 over January to October; this year $130,000.00 over the whole year.
    last_year = [PurchaseLine(month(m, 2025), Decimal("100"), Decimal("10000.00")) for m in range(1, 11)]
    this_year = [PurchaseLine(month(m), Decimal("100"), Decimal("10000.00")) for m in range(1, 11)]
    this_year += [PurchaseLine(month(m), Decimal("150"), Decimal("15000.00")) for m in (11, 12)]

    results = calculate(term(rule), this_year, as_of=YEAR_END, last_year_lines=last_year)

    assert results[-1].cumulative == Decimal("1500.00")


def test_terminated_seed_agreement_accrues_15_to_june_and_nothing_after():
    terms = term(SEED.rule, terminated_on=date(2026, 6, 30))

    results = calculate(terms, SEED_LINES, as_of=YEAR_END)

    assert [r.month for r in results] == [month(m) for m in range(1, 7)]
    assert results[-1].cumulative == Decimal("15.00")


def test_late_credit_note_of_2_units_lowers_march_by_50_cents():
    credit_note = PurchaseLine(month(3), Decimal("-2"), Decimal("-24.20"))
    as_of_may = date(2026, 5, 31)

    before = calculate(SEED, SEED_LINES, as_of=as_of_may)
    after = calculate(SEED, [*SEED_LINES, credit_note], as_of=as_of_may)

    assert after[2].amount - before[2].amount == Decimal("-0.50")
    assert [r.amount for r in after if r.month != month(3)] == [
        r.amount for r in before if r.month != month(3)
    ]
