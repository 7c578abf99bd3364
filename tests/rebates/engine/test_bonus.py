from datetime import date
from decimal import Decimal

from rebates.engine import AgreementTerms, LaunchBonus, PurchaseLine, RebateRule, calculate, rebate_per_unit
from rebates.engine.bonus import bonus_percent

YEAR_END = date(2026, 12, 31)
LAUNCH = LaunchBonus(product="NEW-1", minimum_quantity=Decimal("50"), extra_percent=Decimal("1"))


def month(number: int) -> date:
    return date(2026, number, 1)


def term(cap: Decimal | None = None, frequency: str = "annual") -> AgreementTerms:
    rule = RebateRule(kind="per_unit", rate=Decimal("0.25"), cap=cap, bonuses=(LAUNCH,))
    return AgreementTerms(month(1), month(12), rule, settlement_frequency=frequency)


SCOPE = [PurchaseLine(month(m), Decimal("10"), Decimal("121.00")) for m in range(1, 13)]
NEW_PRODUCT = [PurchaseLine(month(m), Decimal("30"), Decimal("300.00"), product="NEW-1") for m in (2, 4)]


def test_bonus_percent_counts_only_bonuses_whose_product_reached_its_minimum():
    other = LaunchBonus(product="NEW-2", minimum_quantity=Decimal("5"), extra_percent=Decimal("2"))
    assert bonus_percent((LAUNCH, other), {"NEW-1": Decimal("50"), "NEW-2": Decimal("4")}) == Decimal("1")


def test_no_bonus_before_the_launch_product_minimum_is_bought():
    results = calculate(term(), SCOPE, as_of=YEAR_END, bonus_lines=NEW_PRODUCT)
    assert [r.bonus for r in results[:3]] == [Decimal("0.00")] * 3


def test_bonus_is_booked_for_the_period_to_date_in_the_month_the_condition_is_met():
    april = calculate(term(), SCOPE, as_of=YEAR_END, bonus_lines=NEW_PRODUCT)[3]
    # 1 % of four months of $121.00
    assert april.bonus == Decimal("4.84")
    assert april.amount == april.accrual + april.catch_up + april.bonus == Decimal("7.34")
    assert april.bonus_rate == Decimal("1")


def test_bonus_keeps_up_with_later_months_of_the_period():
    results = calculate(term(), SCOPE, as_of=YEAR_END, bonus_lines=NEW_PRODUCT)
    assert [r.bonus for r in results[4:]] == [Decimal("1.21")] * 8


def test_bonus_condition_is_counted_per_settlement_period():
    results = calculate(term(frequency="quarterly"), SCOPE, as_of=YEAR_END, bonus_lines=NEW_PRODUCT)
    # 30 units in February and 30 in April fall in different quarters: neither reaches 50.
    assert sum(r.bonus for r in results) == 0


def test_lines_of_other_products_do_not_count_toward_the_bonus():
    other = [PurchaseLine(month(1), Decimal("100"), Decimal("1000"), product="OLD-9")]
    results = calculate(term(), SCOPE, as_of=YEAR_END, bonus_lines=other)
    assert sum(r.bonus for r in results) == 0


def test_bonus_fills_only_what_the_cap_leaves():
    results = calculate(term(cap=Decimal("8.00")), SCOPE, as_of=YEAR_END, bonus_lines=NEW_PRODUCT)
    april = results[3]
    # The rule has earned $10.00 by April, above the cap: the bonus gets nothing.
    assert april.cumulative == Decimal("8.00")
    assert sum(r.bonus for r in results) == 0


def test_rebate_per_unit_includes_the_bonus_in_force():
    terms = term()
    results = calculate(terms, SCOPE, as_of=month(4), bonus_lines=NEW_PRODUCT)
    # $0.25 + 1 % of $12.10
    assert rebate_per_unit(terms, results, unit_price=Decimal("12.10")) == Decimal("0.3710")
