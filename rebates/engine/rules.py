"""The measures every rule kind reads on a settlement period's volume to date: the baseline, the figure
tier bands are read on, growth, a rate applied to its base. What each kind does with them is in kinds.py.

Every function here takes period-to-date totals (`Volume`) and returns unrounded Decimals; rounding and
the per-month split happen in calculate.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, NamedTuple

from .choices import Baseline, RateType, TierBasis
from .lines import MonthTotal
from .money import HUNDRED, ZERO, percent_of

if TYPE_CHECKING:
    from .terms import RebateRule


class Volume(NamedTuple):
    """A settlement period's totals to date: units and net amount bought, and the same months last year.

    A named tuple (immutable, like the engine's dataclasses) because one is made for every month of every
    agreement: it is several times quicker to build."""

    quantity: Decimal = ZERO
    amount: Decimal = ZERO
    baseline_quantity: Decimal = ZERO
    baseline_amount: Decimal = ZERO
    # The part of `amount` bought of products on clearance in their clearance window (the clearance kind).
    clearance_amount: Decimal = ZERO
    # The net amount to date per product line (its id as text), in order (the product mix kind).
    line_amounts: tuple[tuple[str, Decimal], ...] = ()
    # The net amount to date of the referred customers' purchases in their referral months (the referral kind).
    referral_amount: Decimal = ZERO

    def plus(self, bought: MonthTotal, last_year: MonthTotal, cleared: Decimal = ZERO,
             by_line: Mapping[str, Decimal] | None = None, referred: Decimal = ZERO) -> Volume:
        """These totals with one more month (its month of last year, its clearance amount, its amounts per
        product line, its referred customers' amount) added."""
        line_amounts = self.line_amounts
        if by_line:
            summed = dict(line_amounts)
            for line, amount in by_line.items():
                summed[line] = summed.get(line, ZERO) + amount
            line_amounts = tuple(sorted(summed.items()))
        return Volume(
            self.quantity + bought.quantity,
            self.amount + bought.amount,
            self.baseline_quantity + last_year.quantity,
            self.baseline_amount + last_year.amount,
            self.clearance_amount + cleared,
            line_amounts,
            self.referral_amount + referred,
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


def growth(rule: RebateRule, volume: Volume) -> Decimal:
    """How far the volume to date is above the baseline, in the rule's earning unit (never below 0)."""
    if rule.rate_unit is RateType.PER_UNIT:
        return max(ZERO, volume.quantity - _baseline_quantity(rule, volume))
    return max(ZERO, volume.amount - baseline_amount(rule, volume))


def earning_base(rule: RebateRule, volume: Volume) -> Decimal:
    """What a rate is applied to: the units to date for a money-per-unit rate, the net amount for a percent."""
    return volume.quantity if rule.rate_unit is RateType.PER_UNIT else volume.amount


def apply_rate(rule: RebateRule, rate: Decimal, base: Decimal) -> Decimal:
    """`rate` on `base`: money per unit times units, or a percent of money, as the rule's rate unit says."""
    return rate * base if rule.rate_unit is RateType.PER_UNIT else percent_of(rate, base)


# The rule's kind answers these; the functions name them for callers that hold a rule.


def minimum_volume(rule: RebateRule, volume: Volume) -> Decimal:
    """The volume the minimum is measured on (units or money, as the rule's kind says)."""
    return rule.kind_class.minimum_volume(rule, volume)


def rate_at(rule: RebateRule, volume: Volume) -> Decimal:
    """The rate the volume to date has reached."""
    return rule.kind_class.rate_at(rule, volume)


def rate_in_force(rule: RebateRule, volume: Volume) -> Decimal:
    """The rate a further unit or dollar earns now."""
    return rule.kind_class.rate_in_force(rule, volume)


def earned(rule: RebateRule, volume: Volume, rate: Decimal | None = None) -> Decimal:
    """What the volume to date earns, ignoring minimum and cap. Unrounded money."""
    return rule.kind_class.earned(rule, volume, rate)
