"""Splitting a buying group's rebate among its members by their share of the volume (rebates/engine/groups.py)."""

from decimal import Decimal
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from rebates.engine.groups import shares, split_by_share, volume_measured
from rebates.engine.kinds import rule_kind
from rebates.engine.terms import RebateRule
from rebates.engine.tiers import Band

D = Decimal


def test_the_worked_example_splits_one_third_one_quarter_and_five_twelfths():
    # Three members buy 400, 300 and 500 units: the group earns 2% on 1,200 units' $12,000 = $240.00.
    volumes = {"M-1": D(400), "M-2": D(300), "M-3": D(500)}
    assert shares(volumes) == {"M-1": Fraction(1, 3), "M-2": Fraction(1, 4), "M-3": Fraction(5, 12)}
    assert split_by_share(D("240.00"), volumes) == {"M-1": D("80.00"), "M-2": D("60.00"), "M-3": D("100.00")}


def test_the_cents_left_go_to_the_largest_remainders():
    assert split_by_share(D("1.00"), {"A": D(1), "B": D(1), "C": D(1)}) == {"A": D("0.34"), "B": D("0.33"),
                                                                           "C": D("0.33")}
    assert split_by_share(D("0.05"), {"A": D(1), "B": D(2)}) == {"A": D("0.02"), "B": D("0.03")}


def test_a_correction_splits_the_same_way_negative():
    assert split_by_share(D("-1.00"), {"A": D(1), "B": D(1), "C": D(1)}) == {"A": D("-0.34"), "B": D("-0.33"),
                                                                            "C": D("-0.33")}


def test_members_with_nothing_bought_share_alike_and_a_credit_note_earns_no_share():
    assert split_by_share(D("0.10"), {"A": D(0), "B": D(0)}) == {"A": D("0.05"), "B": D("0.05")}
    assert split_by_share(D("9.00"), {"A": D(-50), "B": D(100)}) == {"A": D("0.00"), "B": D("9.00")}
    assert split_by_share(D("9.00"), {}) == {}


def test_the_volume_split_is_read_as_the_rule_measures_its_tiers():
    tiered = RebateRule(kind="tiered", rate_type="percent", tier_basis="quantity", tier_method="retroactive",
                        bands=(Band(D(0), D(1)), Band(D(1000), D(2))))
    percent = RebateRule(kind="percent", rate_type="percent", rate=D(2))
    assert volume_measured(rule_kind("tiered"), tiered, D(7), D(70)) == D(7)
    assert volume_measured(rule_kind("percent"), percent, D(7), D(70)) == D(70)


# Drawn as whole cents and thousandths (cheap to draw, exact as Decimals).
money = st.integers(-10_000_000, 10_000_000).map(lambda cents: D(cents).scaleb(-2))
volume = st.integers(-500_000, 100_000_000).map(lambda thousandths: D(thousandths).scaleb(-3))


@given(money, st.dictionaries(st.text("ABCDEFGH", min_size=1, max_size=3), volume, min_size=1, max_size=8))
def test_splitting_never_changes_the_group_total(amount, volumes):
    parts = split_by_share(amount, volumes)
    assert sum(parts.values(), D(0)) == amount
    assert set(parts) == set(volumes)
    counted = {member: share for member, share in shares(volumes).items()}
    for member, part in parts.items():
        # Each part is its exact share, off by less than a cent.
        assert abs(Fraction(part) - counted[member] * Fraction(amount)) < Fraction(1, 100)
        assert part == part.quantize(D("0.01"))
