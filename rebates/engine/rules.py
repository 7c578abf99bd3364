"""What a rule earns on a settlement period's volume to date, before minimum, cap and bonus.

Every function here takes period-to-date totals (`Volume`) and returns unrounded Decimals; rounding and
the per-month split happen in calculate.py.
"""

from decimal import Decimal
from typing import NamedTuple

from .lines import MonthTotal
from .money import HUNDRED, ZERO, percent_of
from .terms import Baseline, RateType, RebateRule, RuleKind, TierBasis, TierMethod
from .tiers import band_rate, incremental_total


class Volume(NamedTuple):
    """A settlement period's totals to date: units and net amount bought, and the same months last year.

    A named tuple (immutable, like the engine's dataclasses) because one is made for every month of every
    agreement: it is several times quicker to build."""

    quantity: Decimal = ZERO
    amount: Decimal = ZERO
    baseline_quantity: Decimal = ZERO
    baseline_amount: Decimal = ZERO

    def plus(self, bought: MonthTotal, last_year: MonthTotal) -> "Volume":
        """These totals with one more month (and its month of last year) added."""
        return Volume(
            self.quantity + bought.quantity,
            self.amount + bought.amount,
            self.baseline_quantity + last_year.quantity,
            self.baseline_amount + last_year.amount,
        )


def baseline_amount(rule: RebateRule, volume: Volume) -> Decimal:
    """The amount this period is compared with: the stated amount, or last year's same months to date."""
    if rule.baseline is Baseline.STATED:
        return rule.baseline_amount
    return volume.baseline_amount


def _baseline_quantity(rule: RebateRule, volume: Volume) -> Decimal:
    if rule.baseline is Baseline.STATED:
        # A stated baseline is money: turn it into units at this period's average price.
        return rule.baseline_amount * volume.quantity / volume.amount if volume.amount > 0 else ZERO
    return volume.baseline_quantity


def basis_value(rule: RebateRule, volume: Volume) -> Decimal:
    """The figure tier bands are read on: units, money, or money as a percent of the baseline.

    With no baseline (nothing bought last year) the percent of baseline is taken as 0: the first band.
    """
    if rule.tier_basis is TierBasis.QUANTITY:
        return volume.quantity
    if rule.tier_basis is TierBasis.AMOUNT:
        return volume.amount
    baseline = baseline_amount(rule, volume)
    return volume.amount * HUNDRED / baseline if baseline > 0 else ZERO


def minimum_volume(rule: RebateRule, volume: Volume) -> Decimal:
    """The volume the minimum is measured on: units for per-unit and quantity-tier rules, else money."""
    if rule.kind is RuleKind.PER_UNIT or rule.tier_basis is TierBasis.QUANTITY:
        return volume.quantity
    return volume.amount


def rate_at(rule: RebateRule, volume: Volume) -> Decimal:
    """The rate the volume to date has reached: the band's rate if tiered, the rule's rate otherwise."""
    if rule.kind is RuleKind.TIERED:
        return band_rate(rule.bands, basis_value(rule, volume))
    return rule.rate


def growth(rule: RebateRule, volume: Volume) -> Decimal:
    """How far the volume to date is above the baseline, in the rule's earning unit (never below 0)."""
    if rule.rate_unit is RateType.PER_UNIT:
        return max(ZERO, volume.quantity - _baseline_quantity(rule, volume))
    return max(ZERO, volume.amount - baseline_amount(rule, volume))


def rate_in_force(rule: RebateRule, volume: Volume) -> Decimal:
    """The rate a further unit or dollar earns now; 0 for growth rules while there is no growth."""
    measures_growth = rule.kind is RuleKind.GROWTH or rule.tier_method is TierMethod.RETROACTIVE_ON_GROWTH
    if measures_growth and growth(rule, volume) == 0:
        return ZERO
    return rate_at(rule, volume)


def _apply(rule: RebateRule, rate: Decimal, base: Decimal) -> Decimal:
    return rate * base if rule.rate_unit is RateType.PER_UNIT else percent_of(rate, base)


def earned(rule: RebateRule, volume: Volume, rate: Decimal | None = None) -> Decimal:
    """What the volume to date earns, ignoring minimum and cap, never below 0. Unrounded money.

    `rate` overrides the rate reached (used to restate earlier months at a newly reached tier);
    incremental tiers always use their bands.
    """
    rate = rate_at(rule, volume) if rate is None else rate
    base = volume.quantity if rule.rate_unit is RateType.PER_UNIT else volume.amount
    if rule.kind is RuleKind.GROWTH or rule.tier_method is TierMethod.RETROACTIVE_ON_GROWTH:
        return _apply(rule, rate, growth(rule, volume))
    if rule.tier_method is TierMethod.INCREMENTAL:
        return max(ZERO, _incremental(rule, volume, base))
    return max(ZERO, _apply(rule, rate, base))


def _incremental(rule: RebateRule, volume: Volume, base: Decimal) -> Decimal:
    value = basis_value(rule, volume)
    banded = _apply(rule, Decimal(1), incremental_total(rule.bands, value))
    measured_in_base = (rule.tier_basis, rule.rate_unit) in (
        (TierBasis.QUANTITY, RateType.PER_UNIT),
        (TierBasis.AMOUNT, RateType.PERCENT),
    )
    if measured_in_base:
        return banded
    # Bands read on another measure: each band's share of it carries the same share of the base
    # (400 units in bands, at $10 a unit, are $4,000 of amount).
    return banded * base / value if value > 0 else ZERO
