"""The engine's settlement periods in exact integers: the same results as calculate.py's Decimal maths, quicker.

Quantities are carried in thousandths, amounts in cents, rates and bonus percents in ten-thousandths, all as
Python ints; what a volume earns is then an exact integer in a finer unit (a per-unit rate on thousandths of
a unit is in 10^-7 of money, a percent on cents in 10^-8), rounded half-up to the cent exactly where the
Decimal path rounds. Thresholds (tier bands, the minimum) become the smallest integer a volume must reach.

A rule is done this way only where the Decimal path's arithmetic is exact too: additions, multiplications
and division by 100, with every figure small enough (`LIMIT`) that Decimal's 28 digits never round. Anything
else (a tier basis or incremental share that divides, a stated baseline turned into units, figures with
more places than the scales hold) is `None` from `integer_rule` / `integer_totals`, and calculate.py keeps
the Decimal path, which stays the reference: tests/rebates/engine/test_exact.py draws random terms of every
kind and purchases and checks both give identical results.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, NamedTuple

from .bonus import bonus_percent
from .choices import Baseline, RateType, TierBasis, TierMethod
from .lines import NOTHING_BOUGHT, MonthTotal
from .money import ZERO, percent_of, quantize_unit_price
from .results import MonthResult, is_shortfall, month_result

if TYPE_CHECKING:
    from .terms import AgreementTerms, RebateRule

QUANTITY_PLACES = 3
AMOUNT_PLACES = 2
RATE_PLACES = 4
# Every integer the maths makes stays below this, so the Decimal path (28 digits) never rounds either.
LIMIT = 10**26
# From an exact earned value to cents: a per-unit rate (10^-4) on thousandths of a unit (10^-3) is in
# 10^-7 of money; a percent (10^-4, then / 100) of cents (10^-2) is in 10^-8.
TO_CENTS = {RateType.PER_UNIT: 10**5, RateType.PERCENT: 10**6}
BONUS_TO_CENTS = 10**6


def _scaled(value: Decimal, places: int) -> int | None:
    """`value` x 10^places as an int, or None when it has more places than that."""
    scaled = value.scaleb(places)
    whole = int(scaled)
    return whole if whole == scaled else None


def _at_least(value: Decimal, places: int) -> int:
    """The smallest integer a figure in units of 10^-places must reach to be at least `value`."""
    return int(value.scaleb(places).to_integral_value(rounding=ROUND_CEILING))


ZERO_CENTS = Decimal("0.00")


def _cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2) if value else ZERO_CENTS


def _round(value: int, divisor: int) -> int:
    """value / divisor rounded half away from zero (value >= 0 here, as every earned figure is)."""
    return (value + divisor // 2) // divisor


class IntegerRule(NamedTuple):
    """A rule's figures as integers, and what its kind does with a volume, worked out once per calculation."""

    unit: RateType
    per_unit: bool  # the rates are money per unit (else percents)
    to_cents: int
    # Rates: the Decimal the results show and its integer; flat kinds have one, tiered rules one a band.
    rates: tuple[Decimal, ...]
    rate_ints: tuple[int, ...]
    thresholds: tuple[int, ...]  # each band's threshold on the basis (first is 0); () for flat kinds
    basis_is_quantity: bool  # tiers read on units (else money)
    incremental: bool
    growth: bool  # earns on the part above the baseline only
    stated_baseline: int | None  # cents, when the baseline is stated
    minimum_on_quantity: bool
    minimum: int | None
    cap: int | None
    restates: bool
    largest: int


def integer_rule(rule: RebateRule) -> IntegerRule | None:
    """The rule as integers, or None when its maths is not done in integers (the Decimal path does it)."""
    kind = rule.kind_class
    unit = rule.rate_unit
    banded = kind.banded
    if banded:
        if rule.tier_basis not in (TierBasis.QUANTITY, TierBasis.AMOUNT):
            return None  # percent of baseline divides
        basis_is_quantity = rule.tier_basis is TierBasis.QUANTITY
        incremental = rule.tier_method is TierMethod.INCREMENTAL
        if incremental and basis_is_quantity != (unit is RateType.PER_UNIT):
            return None  # bands on another measure than the rate's: their share of the base divides
        rates = tuple(band.rate for band in rule.bands)
        places = QUANTITY_PLACES if basis_is_quantity else AMOUNT_PLACES
        # Incremental tiers pay on each band's share, which needs the thresholds themselves; the others
        # only ask whether a volume has reached one.
        thresholds = tuple(_scaled(band.threshold, places) if incremental else _at_least(band.threshold, places)
                           for band in rule.bands)
        if None in thresholds:
            return None
    else:
        basis_is_quantity, incremental = False, False
        rates, thresholds = (rule.rate,), ()
    growth = kind.measures_growth(rule)
    stated = None
    if growth:
        if rule.baseline is Baseline.STATED:
            if unit is RateType.PER_UNIT:
                return None  # a stated baseline in units divides by the period's average price
            stated = _scaled(rule.baseline_amount, AMOUNT_PLACES)
            if stated is None:
                return None
    rate_ints = tuple(_scaled(rate, RATE_PLACES) for rate in rates)
    if None in rate_ints:
        return None
    minimum_on_quantity = (kind.minimum_volume(rule, _PROBE) == _PROBE.quantity)
    minimum = (None if rule.minimum is None
               else _at_least(rule.minimum, QUANTITY_PLACES if minimum_on_quantity else AMOUNT_PLACES))
    bonus_ints = [_scaled(b.extra_percent, RATE_PLACES) for b in rule.bonuses]
    if None in bonus_ints:
        return None
    # The largest rate or bonus percent (all bonuses together) a volume is multiplied by.
    largest = max(*rate_ints, sum(bonus_ints), 1)
    return IntegerRule(
        unit=unit, per_unit=unit is RateType.PER_UNIT, to_cents=TO_CENTS[unit], rates=rates, rate_ints=rate_ints,
        thresholds=thresholds,
        basis_is_quantity=basis_is_quantity, incremental=incremental, growth=growth, stated_baseline=stated,
        minimum_on_quantity=minimum_on_quantity, minimum=minimum,
        cap=None if rule.cap is None else _scaled(rule.cap, AMOUNT_PLACES),
        restates=kind.restates_earlier_months or rule.minimum is not None,
        largest=largest,
    )


class _Probe(NamedTuple):
    """Which measure a kind's minimum reads: a volume whose units and amount differ."""

    quantity: Decimal = Decimal(1)
    amount: Decimal = Decimal(2)
    baseline_quantity: Decimal = Decimal(3)
    baseline_amount: Decimal = Decimal(4)


_PROBE = _Probe()


def integer_totals(totals: Mapping[date, MonthTotal]) -> dict[date, tuple[int, int]] | None:
    """Each month's units (thousandths) and amount (cents), or None when a figure has more places."""
    ints = {}
    for month, total in totals.items():
        quantity = _scaled(total.quantity, QUANTITY_PLACES)
        amount = _scaled(total.amount, AMOUNT_PLACES)
        if quantity is None or amount is None:
            return None
        ints[month] = (quantity, amount)
    return ints


def small_enough(rule: IntegerRule, *totals: Mapping[date, tuple[int, int]]) -> bool:
    """Whether every product the maths makes stays below LIMIT: each volume to date is at most the sum of
    every month's size, and each rate (or bonus percent) at most the largest."""
    size = sum(abs(q) + abs(a) for months in totals for q, a in months.values())
    size += max(rule.thresholds, default=0) + (rule.stated_baseline or 0) + (rule.minimum or 0) + (rule.cap or 0)
    return size * rule.largest * 100 < LIMIT


_NO_MONTH = (0, 0)


class _Standing(NamedTuple):
    quantity: int
    amount: int
    baseline_quantity: int
    baseline_amount: int
    reached: bool
    earned: int  # cents
    bonus: int  # cents


def settlement_period(
    terms: AgreementTerms,
    rule: IntegerRule,
    first: date,
    months: tuple[date, ...],
    bought: Mapping[date, MonthTotal],
    bought_ints: Mapping[date, tuple[int, int]],
    last_year_ints: Mapping[date, tuple[int, int]],
    launches: Mapping[str, Mapping[date, MonthTotal]],
    recompute_from: date,
) -> Iterator[MonthResult]:
    """calculate.py's `_settlement_period` in integers: the same months, the same MonthResults."""
    engine_rule = terms.rule
    committed = terms.committed_monthly_quantity
    commitment_rule = engine_rule.commitment_rule
    bonuses = engine_rule.bonuses
    cap = rule.cap
    per_unit_rate = rule.per_unit
    launched = dict.fromkeys(launches, ZERO)
    before = _Standing(0, 0, 0, 0, False, 0, 0)
    volume = (0, 0, 0, 0)
    for month in months:
        if month == recompute_from and month != first:
            extra = bonus_percent(bonuses, launched) if launches else ZERO
            before = _standing(rule, volume, _scaled(extra, RATE_PLACES) if extra else 0)
        total = bought.get(month, NOTHING_BOUGHT)
        shortfall = is_shortfall(total.quantity, committed)
        counts = not (shortfall and commitment_rule)
        for product, per_month in launches.items():
            launched[product] += per_month.get(month, NOTHING_BOUGHT).quantity
        if counts:
            q, a = bought_ints.get(month, _NO_MONTH)
            bq, ba = last_year_ints.get(month, _NO_MONTH)
        if month < recompute_from:
            if counts:
                volume = (volume[0] + q, volume[1] + a, volume[2] + bq, volume[3] + ba)
            continue
        if counts:
            volume = (before.quantity + q, before.amount + a, before.baseline_quantity + bq,
                      before.baseline_amount + ba)
        else:
            volume = before[:4]
        extra = bonus_percent(bonuses, launched) if launches else ZERO
        now = _standing(rule, volume, _scaled(extra, RATE_PLACES) if extra else 0)

        rule_amount = now.earned - before.earned
        catch_up = _catch_up(rule, before, now) if rule.restates else 0
        bonus = now.bonus - before.bonus
        earning = counts and now.reached and not (cap is not None and before.earned + before.bonus >= cap)
        if earning:
            rate = (ZERO if rule.growth and _growth(rule, volume) == 0
                    else rule.rates[_rate_index(rule, volume)])
            bonus_rate = extra
        else:
            rate = bonus_rate = ZERO
        yield month_result(
            month=month,
            period_start=first,
            quantity=total.quantity,
            eligible_amount=total.amount,
            accrual=_cents(rule_amount - catch_up),
            catch_up=_cents(catch_up),
            bonus=_cents(bonus),
            amount=_cents(rule_amount + bonus),
            cumulative=_cents(now.earned + now.bonus),
            rate=rate,
            bonus_rate=bonus_rate,
            rebate_per_unit=_money_per_unit(per_unit_rate, rate, bonus_rate, total),
            shortfall=shortfall,
        )
        before = now


def _standing(rule: IntegerRule, volume: tuple[int, int, int, int], extra: int) -> _Standing:
    quantity, amount, baseline_quantity, baseline_amount = volume
    if rule.minimum is not None and (quantity if rule.minimum_on_quantity else amount) < rule.minimum:
        return _Standing(*volume, False, 0, 0)
    from_rule = _round(_earned(rule, volume, None), rule.to_cents)
    bonus = _round(extra * max(0, amount), BONUS_TO_CENTS) if extra else 0
    if rule.cap is not None:
        from_rule = min(from_rule, rule.cap)
        bonus = min(bonus, rule.cap - from_rule)
    return _Standing(*volume, True, from_rule, bonus)


def _rate_index(rule: IntegerRule, volume: tuple[int, ...]) -> int:
    thresholds = rule.thresholds
    if not thresholds:
        return 0
    value = volume[0] if rule.basis_is_quantity else volume[1]
    reached = 0
    for index in range(1, len(thresholds)):
        if value < thresholds[index]:
            break
        reached = index
    return reached


def _growth(rule: IntegerRule, volume: tuple[int, ...]) -> int:
    if rule.per_unit:
        return max(0, volume[0] - volume[2])  # units over last year's (a stated baseline never gets here)
    baseline = volume[3] if rule.stated_baseline is None else rule.stated_baseline
    return max(0, volume[1] - baseline)


def _earned(rule: IntegerRule, volume: tuple[int, ...], rate_index: int | None) -> int:
    """What the volume earns in the rule's fine unit (see TO_CENTS), never below 0; at the rate reached, or
    at rates[rate_index]. Incremental tiers pay each band's share at its own rate."""
    if rule.incremental:
        value = volume[0] if rule.basis_is_quantity else volume[1]
        thresholds = rule.thresholds
        total = 0
        for index, rate in enumerate(rule.rate_ints):
            upper = thresholds[index + 1] if index + 1 < len(thresholds) else None
            top = value if upper is None else min(value, upper)
            total += rate * max(0, top - thresholds[index])
        return max(0, total)
    rate = rule.rate_ints[_rate_index(rule, volume) if rate_index is None else rate_index]
    if rule.growth:
        return rate * _growth(rule, volume)
    return max(0, rate * (volume[0] if rule.per_unit else volume[1]))


def _catch_up(rule: IntegerRule, before: _Standing, now: _Standing) -> int:
    restated = (_round(_earned(rule, before[:4], _rate_index(rule, now[:4])), rule.to_cents) if now.reached
                else 0)
    month_amount = now.earned - before.earned
    low, high = min(0, month_amount), max(0, month_amount)
    return min(max(restated - before.earned, low), high)


def _money_per_unit(per_unit_rate: bool, rate: Decimal, bonus_rate: Decimal, total: MonthTotal) -> Decimal | None:
    """calculate.py's `_money_per_unit`, in the same Decimals (the month's average price divides)."""
    fixed = rate if per_unit_rate else ZERO
    percent = bonus_rate + (ZERO if per_unit_rate else rate)
    if percent == 0:
        return quantize_unit_price(fixed)
    if not total.quantity:
        return None
    return quantize_unit_price(fixed + percent_of(percent, total.amount / total.quantity))

