"""The agreement's terms in a clerk's words: each kind says what it earns, then minimum, cap, commitment, bonus."""

from decimal import Decimal

import pytest

from rebates.models import BonusCondition, RebateRule, TierBand
from rebates.wording import terms_in_words
from tests.factories import AgreementFactory, ProductFactory

D = Decimal
WORKED_TIERS = ((D(0), D(1)), (D(1000), D(2)), (D(5000), D(3)))


def agreement_with(rule=None, bands=(), frequency="annual", currency=None):
    extra = {"customer__currency": currency} if currency else {}
    agreement = AgreementFactory(settlement_frequency=frequency, **extra)
    if rule is not None:
        rule = RebateRule.objects.create(agreement=agreement, **rule)
        TierBand.objects.bulk_create(TierBand(rule=rule, threshold=t, rate=r) for t, r in bands)
    return agreement


@pytest.mark.parametrize(("rule", "bands", "frequency", "words"), [
    ({"kind": "per_unit", "rate_type": "per_unit", "rate": D("0.25")}, (), "annual",
     ["$0.25 a unit, paid annually."]),
    ({"kind": "per_unit", "rate_type": "per_unit", "rate": D("0.1234")}, (), "quarterly",
     ["$0.1234 a unit, paid quarterly."]),
    ({"kind": "percent", "rate_type": "percent", "rate": D("2.50")}, (), "monthly",
     ["2.5% of eligible net purchases, paid monthly."]),
    ({"kind": "growth", "rate_type": "percent", "rate": D("5"), "baseline": "last_year"}, (), "annual",
     ["5% of purchases above the same period last year, paid annually."]),
    ({"kind": "growth", "rate_type": "percent", "rate": D("5"), "baseline": "stated",
      "baseline_amount": D("100000")}, (), "annual",
     ["5% of purchases above $100,000.00 a settlement period, paid annually."]),
    ({"kind": "tiered", "rate_type": "percent", "tier_basis": "quantity", "tier_method": "retroactive"},
     WORKED_TIERS, "annual",
     ["Tiered on period-to-date quantity (retroactive): below 1,000 units 1%; from 1,000 units 2%; "
      "from 5,000 units 3%; paid annually."]),
    ({"kind": "tiered", "rate_type": "per_unit", "tier_basis": "amount", "tier_method": "incremental"},
     ((D(0), D("0.10")), (D(20000), D("0.15")), (D("20000.50"), D("0.1725"))), "annual",
     ["Tiered on period-to-date amount (incremental): below $20,000 $0.10 a unit; from $20,000 $0.15 a unit; "
      "from $20,000.50 $0.1725 a unit; paid annually."]),
    ({"kind": "tiered", "rate_type": "percent", "tier_basis": "percent_of_baseline",
      "tier_method": "retroactive_on_growth", "baseline": "last_year"}, ((D(0), D(2)),), "annual",
     ["Tiered on amount as % of baseline (retroactive on growth): from 0% of the baseline 2%; paid annually."]),
], ids=["per-unit", "per-unit-in-fractions-of-a-cent", "percent", "growth-on-last-year", "growth-on-stated",
        "tiered-retroactive", "tiered-incremental-per-unit-on-amount", "tiered-on-growth-one-band"])
def test_each_kind_says_what_it_earns_and_how_it_is_paid(db, rule, bands, frequency, words):
    assert terms_in_words(agreement_with(rule, bands, frequency)) == words


def test_minimum_cap_commitment_and_bonus_follow_one_sentence_each(db):
    agreement = agreement_with({"kind": "percent", "rate_type": "percent", "rate": D("2"), "minimum": D("1000.000"),
                                "cap": D("1500.00"), "commitment_rule": True})
    BonusCondition.objects.create(rule=agreement.rule, product=ProductFactory(sku="NEW-1"),
                                  minimum_quantity=D("100.000"), extra_percent=D("1.000000"))
    assert terms_in_words(agreement) == [
        "2% of eligible net purchases, paid annually.",
        "Nothing is earned until 1,000 period to date.",
        "At most $1,500.00 a settlement period.",
        "A month below the committed quantity earns no rebate.",
        "Bonus: 1% more on the whole scope in a period with at least 100 units of NEW-1.",
    ]


def test_the_terms_of_an_agreement_in_euros_say_their_amounts_in_euros(db):
    per_unit = agreement_with({"kind": "per_unit", "rate_type": "per_unit", "rate": D("0.25"), "cap": D("1500.00")},
                              currency="EUR")
    tiered = agreement_with({"kind": "tiered", "rate_type": "per_unit", "tier_basis": "amount",
                             "tier_method": "incremental"}, ((D(0), D("0.10")), (D(20000), D("0.1725"))),
                            currency="EUR")
    growth = agreement_with({"kind": "growth", "rate_type": "percent", "rate": D("5"), "baseline": "stated",
                             "baseline_amount": D("100000")}, currency="GBP")
    assert terms_in_words(per_unit) == ["€0.25 a unit, paid annually.", "At most €1,500.00 a settlement period."]
    assert terms_in_words(tiered) == [
        "Tiered on period-to-date amount (incremental): below €20,000 €0.10 a unit; from €20,000 €0.1725 a unit; "
        "paid annually."]
    assert terms_in_words(growth) == ["5% of purchases above £100,000.00 a settlement period, paid annually."]
    assert "$" not in " ".join(terms_in_words(per_unit) + terms_in_words(tiered) + terms_in_words(growth))


def test_an_agreement_without_a_rule_says_so(db):
    assert terms_in_words(agreement_with()) == ["No rebate rule yet, paid annually."]


# --- periods and export filters in words (issue 20: pages say one thing at a time) ------------------------


@pytest.mark.parametrize(("start", "end", "words"), [
    ("2026-11-01", "2026-11-01", "November 2026"),
    ("2026-11-01", None, "November 2026"),
    ("2026-01-01", "2026-12-01", "January – December 2026"),
    ("2025-11-01", "2026-01-01", "November 2025 – January 2026"),
])
def test_a_period_reads_as_months_not_codes(start, end, words):
    from datetime import date

    from rebates.wording import period_in_words

    assert period_in_words(date.fromisoformat(start), end and date.fromisoformat(end)) == words


@pytest.mark.parametrize(("filters", "words"), [
    ({}, "Every customer you may see; every month"),
    ({"report": "accruals"}, "Every customer you may see; every month"),
    ({"customer": "SEED-001", "month_from": "2026-11", "month_to": "2026-11", "report": "accruals"},
     "Customer SEED-001; November 2026"),
    ({"manager": "am.north", "program": "P-2026", "month_from": "2026-01"},
     "Account manager am.north, program P-2026; from January 2026"),
    ({"agreement": "AG-SEED-2026", "month_to": "2026-06"}, "Agreement AG-SEED-2026; up to June 2026"),
])
def test_an_exports_filters_read_as_a_sentence(filters, words):
    from rebates.wording import export_filters_in_words

    assert export_filters_in_words(filters) == words
