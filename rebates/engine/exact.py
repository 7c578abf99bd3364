"""The engine in exact integers: the same results as calculate.py's Decimal maths, several times quicker.

Quantities are carried in thousandths, amounts in cents, rates and bonus percents in ten-thousandths, all as
Python ints; what a volume earns is then an exact integer in a finer unit (a per-unit rate on thousandths of
a unit is in 10^-7 of money, a percent on cents in 10^-8), rounded half-up to the cent exactly where the
Decimal path rounds. Thresholds (tier bands, the minimum) become the smallest integer a volume must reach.

A rule is done this way only where the Decimal path's result is the exact one too: additions,
multiplications and division by 100, with every figure small enough (`LIMIT`) that Decimal's 28 digits never
round; and the one division incremental tiers make when their bands are on another measure than the rate's
(a share of units carries the same share of the amount), whose 28-digit quotient rounds to the same cent as
the exact fraction while the numerator stays below `LIMIT` (see `_cents_of_share`). Anything else (a tier
basis as a percent of the baseline, a stated baseline turned into units, figures with more places than the
scales hold) is None from `calculate`, and calculate.py keeps the Decimal path, which stays the reference:
tests/rebates/engine/test_exact.py draws random terms of every kind and purchases and checks both give
identical results.

The kinds that read more than the agreement's monthly totals say what the integers need through small hooks
(kinds.py): `percents`, the percents a clearance or referral rule takes of the eligible amount and of its second
measure (the clearance amount, the referred customers' amount, summed month by month in cents as the lines
`calculate` is given); `qualifies_on`, the product mix kind's condition on the cents to date per product line,
its focus share in ten-thousandths; `counting_months`, which months a conditional rule counts (a month bought in
is one whose net amount is above zero, the same test in cents). The comparisons and sums are exact; the only
rounding is the half-up to the cent, where the Decimal path rounds.

Each period's months are computed in one loop over plain ints and tuples, with no object per month but its
MonthResult: the commonest rules (one rate all period, no minimum, cap or bonus, the clearance, conditional and
referral kinds among them) in a shorter loop of their own.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import date
from decimal import ROUND_CEILING, Decimal
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from .bonus import bonus_percent
from .choices import Baseline, RateType, TierBasis, TierMethod
from .lines import NOTHING_BOUGHT, MonthTotal, PurchaseLine, monthly_totals
from .money import ZERO, percent_of, quantize_unit_price
from .periods import SettlementFrequency, add_months
from .results import MonthResult, is_shortfall

if TYPE_CHECKING:
    from .terms import AgreementTerms, RebateRule

QUANTITY_PLACES = 3
AMOUNT_PLACES = 2
RATE_PLACES = 4
# Every integer the maths makes stays below this, so the Decimal path (28 digits) never rounds either.
LIMIT = 10**26
SHARE_LIMIT = 10**27  # see `_cents_of_share`
# From an exact earned value to cents: a per-unit rate (10^-4) on thousandths of a unit (10^-3) is in
# 10^-7 of money; a percent (10^-4, then / 100) of cents (10^-2) is in 10^-8.
TO_CENTS = {RateType.PER_UNIT: 10**5, RateType.PERCENT: 10**6}
BONUS_TO_CENTS = 10**6
_POWERS = {places: Decimal(10) ** places for places in (QUANTITY_PLACES, AMOUNT_PLACES, RATE_PLACES)}


def _scaled(value: Decimal, places: int) -> int | None:
    """`value` x 10^places as an int, or None when it has more places than that.

    A figure of 10^25 or more can round in the multiplication (28 digits): it then fails the LIMIT check
    whatever it rounded to, and the Decimal path takes the agreement."""
    scaled = value * _POWERS[places]
    whole = int(scaled)
    return whole if whole == scaled else None


def _at_least(value: Decimal, places: int) -> int:
    """The smallest integer a figure in units of 10^-places must reach to be at least `value`."""
    return int(value.scaleb(places).to_integral_value(rounding=ROUND_CEILING))


ZERO_CENTS = Decimal("0.00")
CENT = Decimal("0.01")
ZERO_PER_UNIT = quantize_unit_price(ZERO)  # the rebate per unit of a month earning at no rate


class IntegerRule(NamedTuple):
    """A rule's figures as integers, and what its kind does with a volume, worked out once per calculation."""

    per_unit: bool  # the rates are money per unit (else percents)
    to_cents: int
    # Rates: the Decimal the results show and its integer; flat kinds have one, tiered rules one a band.
    rates: tuple[Decimal, ...]
    rate_ints: tuple[int, ...]
    thresholds: tuple[int, ...]  # each band's threshold on the basis (first is 0); () for flat kinds
    basis_is_quantity: bool  # tiers read on units (else money)
    incremental: bool
    other_measure: bool  # incremental bands on another measure than the rate's: a share of it divides
    growth: bool  # earns on the part above the baseline only
    stated_baseline: int | None  # cents, when the baseline is stated
    minimum_on_quantity: bool
    minimum: int | None
    cap: int | None
    restates: bool
    largest: int
    # The kinds that read more than the agreement's monthly totals (kinds.py): the percents on the eligible
    # amount and on the kind's second measure (clearance, referral), whether the minimum is on that measure,
    # the period's condition on its amounts per product line (product mix, always in `_settlement_period`).
    percents: tuple[int, int] | None = None
    minimum_on_second: bool = False
    qualifies: Callable[[Mapping[str, int], int], bool] | None = None
    reads_more: bool = False


def integer_rule(rule: RebateRule) -> IntegerRule | None:
    """The rule as integers, or None when its maths is not done in integers (the Decimal path does it)."""
    kind = rule.kind_class
    unit = rule.rate_unit
    per_unit = unit is RateType.PER_UNIT
    incremental = other_measure = basis_is_quantity = False
    if kind.banded:
        if rule.tier_basis is TierBasis.QUANTITY:
            basis_is_quantity, places = True, QUANTITY_PLACES
        elif rule.tier_basis is TierBasis.AMOUNT:
            places = AMOUNT_PLACES
        else:
            return None  # percent of baseline divides
        incremental = rule.tier_method is TierMethod.INCREMENTAL
        other_measure = incremental and basis_is_quantity != per_unit
        rates = tuple(band.rate for band in rule.bands)
        # Incremental tiers pay on each band's share, which needs the thresholds themselves; the others
        # only ask whether a volume has reached one.
        if incremental:
            thresholds = tuple(_scaled(band.threshold, places) for band in rule.bands)
            if None in thresholds:
                return None
        else:
            thresholds = tuple(_at_least(band.threshold, places) for band in rule.bands)
    else:
        rates, thresholds = (rule.rate,), ()
    growth = kind.measures_growth(rule)
    stated = None
    if growth and rule.baseline is Baseline.STATED:
        if per_unit:
            return None  # a stated baseline in units divides by the period's average price
        stated = _scaled(rule.baseline_amount, AMOUNT_PLACES)
        if stated is None:
            return None
    rate_ints = tuple(_scaled(rate, RATE_PLACES) for rate in rates)
    if None in rate_ints:
        return None
    minimum_on_quantity = minimum_on_second = False
    minimum = None
    if rule.minimum is not None:
        measure = kind.minimum_volume(rule, _PROBE)
        minimum_on_quantity = measure == _PROBE.quantity
        minimum_on_second = measure in (_PROBE.clearance_amount, _PROBE.referral_amount)
        minimum = _at_least(rule.minimum, QUANTITY_PLACES if minimum_on_quantity else AMOUNT_PLACES)
    cap = None
    if rule.cap is not None:
        cap = _scaled(rule.cap, AMOUNT_PLACES)
        if cap is None:
            return None
    largest = max(rate_ints)
    reads_more = (kind.conditional_months or kind.reads_clearance or kind.period_condition
                  or kind.reads_referral)
    percents = qualifies = None
    if reads_more:
        if kind.percents(rule) is not None:
            percents = tuple(_scaled(percent, RATE_PLACES) for percent in kind.percents(rule))
            if None in percents:
                return None
            largest = max(largest, *percents)
        if kind.period_condition:
            focus_share = None
            if rule.focus_share is not None:
                focus_share = _scaled(rule.focus_share, RATE_PLACES)
                if focus_share is None:
                    return None
                largest = max(largest, focus_share)
            qualifies = _qualifies(kind, rule, focus_share)
    if rule.bonuses:
        bonus_ints = [_scaled(b.extra_percent, RATE_PLACES) for b in rule.bonuses]
        if None in bonus_ints:
            return None
        largest = max(largest, sum(bonus_ints))
    # The largest rate or bonus percent (all bonuses together) a volume is multiplied by.
    return IntegerRule(
        per_unit, TO_CENTS[unit], rates, rate_ints, thresholds, basis_is_quantity, incremental, other_measure,
        growth, stated, minimum_on_quantity, minimum, cap, kind.restates_earlier_months or minimum is not None,
        max(largest, 1), percents, minimum_on_second, qualifies, reads_more,
    )


# 100 % in ten-thousandths of a percent (a focus share's unit), times the cents of an amount.
_WHOLE = 100 * 10**RATE_PLACES


def _qualifies(kind, rule: RebateRule, focus_share: int | None) -> Callable[[Mapping[str, int], int], bool]:
    """The kind's period condition on the cents to date per product line and in all."""
    return partial(kind.qualifies_on, rule, focus_share=focus_share, whole=_WHOLE)


class _Probe(NamedTuple):
    """Which measure a kind's minimum reads: a volume whose units and amount differ."""

    quantity: Decimal = Decimal(1)
    amount: Decimal = Decimal(2)
    baseline_quantity: Decimal = Decimal(3)
    baseline_amount: Decimal = Decimal(4)
    clearance_amount: Decimal = Decimal(5)
    line_amounts: tuple[tuple[str, Decimal], ...] = ()
    referral_amount: Decimal = Decimal(6)


_PROBE = _Probe()
_PERIOD_MONTHS = {frequency: frequency.months for frequency in SettlementFrequency}
# A month's purchases: the Decimal totals the results show (as `monthly_totals` sums them) and the same
# figures as ints (thousandths of a unit, cents). A plain tuple: one is made for every month.
_NOTHING = (ZERO, ZERO, 0, 0)
_NO_MONTH = (0, 0)


def _month_sums(lines: Iterable[PurchaseLine]) -> dict[date, tuple[Decimal, Decimal]]:
    """Net units and amount per month, summed from ZERO as `monthly_totals` does (the same Decimals)."""
    sums: dict[date, tuple[Decimal, Decimal]] = {}
    get = sums.get
    for line in lines:
        month = line.month
        found = get(month)
        sums[month] = ((ZERO + line.quantity, ZERO + line.amount) if found is None
                       else (found[0] + line.quantity, found[1] + line.amount))
    return sums


_THOUSAND, _HUNDRED = _POWERS[QUANTITY_PLACES], _POWERS[AMOUNT_PLACES]


def calculate(
    terms: AgreementTerms,
    months: tuple[date, ...],
    lines: Iterable[PurchaseLine],
    last_year_lines: Iterable[PurchaseLine],
    bonus_lines: Iterable[PurchaseLine],
    changed_months: Collection[date] | None,
    clearance_lines: Iterable[PurchaseLine] = (),
    mix_lines: Iterable[PurchaseLine] = (),
    referral_lines: Iterable[PurchaseLine] = (),
) -> tuple[MonthResult, ...] | None:
    """calculate.py's `calculate` in integers over the accruing `months`: the same MonthResults, or None when
    the rule or a figure is not done in integers (the Decimal path then does it all). The lines may be read
    before None is returned: the caller passes lists or tuples."""
    rule = integer_rule(terms.rule)
    if rule is None:
        return None
    if not months:
        return ()
    kind = terms.rule.kind_class
    sums = _month_sums(lines)
    bought = []
    size = 0  # every month's units and amount, in ints: no volume to date is larger
    for month in months:
        found = sums.get(month)
        if found is None:
            bought.append(_NOTHING)
            continue
        quantity, amount = found
        # As `_scaled`, inline: this is done for every month of every agreement.
        scaled_quantity, scaled_amount = quantity * _THOUSAND, amount * _HUNDRED
        quantity_int, amount_int = int(scaled_quantity), int(scaled_amount)
        if quantity_int != scaled_quantity or amount_int != scaled_amount:
            return None
        size += abs(quantity_int) + abs(amount_int)
        bought.append((quantity, amount, quantity_int, amount_int))
    # Last year's same months, only where the rule earns on growth over them (no other rule reads them).
    last_year: list[tuple[int, int]] | None = None
    if rule.growth and terms.rule.baseline is Baseline.LAST_YEAR:
        same_lines = last_year_lines is lines and isinstance(lines, list | tuple)
        last_sums = sums if same_lines else _month_sums(last_year_lines)
        last_year = []
        for month in months:
            found = last_sums.get(month.replace(year=month.year - 1)) if month.year > 1 else None
            if found is None:
                last_year.append(_NO_MONTH)
                continue
            scaled_quantity, scaled_amount = found[0] * _THOUSAND, found[1] * _HUNDRED
            quantity_int, amount_int = int(scaled_quantity), int(scaled_amount)
            if quantity_int != scaled_quantity or amount_int != scaled_amount:
                return None
            size += abs(quantity_int) + abs(amount_int)
            last_year.append((quantity_int, amount_int))
    kind_months = None
    if rule.reads_more:
        kind_months = _kind_months(kind, terms.rule, months, bought, clearance_lines, mix_lines, referral_lines)
        if kind_months is None:
            return None
        size += kind_months.size
        reach = kind.reach(terms.rule)
        if changed_months is not None and reach:
            # A month's purchases decide whether the next months count: those months can differ too.
            changed_months = {add_months(month, step) for month in changed_months for step in range(reach + 1)}
    size += max(rule.thresholds, default=0) + (rule.stated_baseline or 0) + (rule.minimum or 0) + (rule.cap or 0)
    # Each product the maths makes (a rate or bonus percent on a volume to date) stays below LIMIT; and an
    # incremental share of another measure (at most the largest rate on the volume, times the other
    # measure) below SHARE_LIMIT.
    if size * rule.largest * 100 >= LIMIT or (rule.other_measure and size * size * rule.largest >= SHARE_LIMIT):
        return None
    bonuses = terms.rule.bonuses
    launches = None
    if bonuses:
        bonus_lines = tuple(bonus_lines)
        launches = {b.product: monthly_totals(bonus_lines, product=b.product) for b in bonuses}

    length = _PERIOD_MONTHS[terms.settlement_frequency]
    if (rule.thresholds or rule.minimum is not None or rule.cap is not None or bonuses
            or rule.qualifies is not None):
        period, earnings = _settlement_period, _earnings(rule)
    else:
        period, earnings = _flat_period, None
    results: list[MonthResult] = []
    for begin in range(0, len(months), length):
        end = min(begin + length, len(months))
        recompute_from = begin
        if changed_months is not None:
            first, last = months[begin], months[end - 1]
            changed = [month for month in changed_months if first <= month <= last]
            if not changed:
                continue
            recompute_from = months.index(min(changed), begin, end)
        period(terms, rule, earnings, months, bought, last_year, launches, begin, end, recompute_from, results,
               kind_months)
    return tuple(results)


class _KindMonths(NamedTuple):
    """What a kind reads besides the agreement's monthly totals, month by month over the accruing months."""

    second: list[int] | None  # the second measure's cents (the clearance amount, the referred amount)
    by_line: list[dict[str, int] | None] | None  # cents per product line (the product mix kind)
    counting: tuple[bool, ...] | None  # whether the month counts (the conditional kind)
    size: int  # the sum of the figures' sizes, for the LIMIT check


def _kind_months(kind, rule: RebateRule, months: tuple[date, ...], bought: list, clearance_lines, mix_lines,
                 referral_lines) -> _KindMonths | None:
    """The kind's monthly figures in ints, or None when one is not (summed in the Decimals' order, as
    calculate.py's `monthly_totals` and its per-line sums do)."""
    size = 0
    second = None
    if kind.percents(rule) is not None:
        sums = _month_sums(clearance_lines if kind.reads_clearance else referral_lines if kind.reads_referral
                           else ())
        second = []
        for month in months:
            found = sums.get(month)
            if found is None:
                second.append(0)
                continue
            scaled = found[1] * _HUNDRED
            cents = int(scaled)
            if cents != scaled:
                return None
            size += abs(cents)
            second.append(cents)
    by_line = None
    if kind.period_condition:
        line_sums: dict[tuple[date, str], Decimal] = {}
        get = line_sums.get
        for line in mix_lines:
            key = (line.month, line.product)
            found = get(key)
            line_sums[key] = ZERO + line.amount if found is None else found + line.amount
        index = {month: i for i, month in enumerate(months)}
        by_line = [None] * len(months)
        for (month, product), amount in line_sums.items():
            at = index.get(month)
            if at is None:
                continue  # a month that does not accrue
            scaled = amount * _HUNDRED
            cents = int(scaled)
            if cents != scaled:
                return None
            size += abs(cents)
            in_cents = by_line[at]
            if in_cents is None:
                by_line[at] = {product: cents}
            else:
                in_cents[product] = cents
    counting = None
    if kind.conditional_months:
        counting = kind.counting_months(rule, [total[3] > 0 for total in bought])
    return _KindMonths(second, by_line, counting, size)


_new = object.__new__


def _flat_period(terms: AgreementTerms, rule: IntegerRule, earnings: None, months, bought, last_year, launches,
                 begin: int, end: int, recompute_from: int, results: list,
                 kind_months: _KindMonths | None) -> None:
    """`_settlement_period` for the commonest rules, one rate all period with no minimum, cap or bonus (flat
    per unit, percent, growth, and the clearance, conditional and referral kinds): the period's earnings to
    date are its rate on its units, amount or growth (or the kind's percents on the amount and its second
    measure), rounded; a month books the difference, never a catch-up."""
    committed = terms.committed_monthly_quantity
    commitment_rule = terms.rule.commitment_rule
    to_cents, half = rule.to_cents, rule.to_cents // 2
    growth, per_unit, stated = rule.growth, rule.per_unit, rule.stated_baseline
    rate, rate_int = rule.rates[0], rule.rate_ints[0]
    # The rebate per unit of a month earning at the rate: the same every month for a per-unit rate (or none);
    # for a percent, the month's average price divides (calculate.py's `_money_per_unit`, the same Decimals).
    percent = ZERO + rate
    fixed_per_unit = quantize_unit_price(rate if per_unit else ZERO) if per_unit or percent == 0 else None
    second, _, counting = kind_months[:3] if kind_months is not None else (None, None, None)
    percents = rule.percents
    first = months[begin]
    quantity = amount = last_quantity = last_amount = second_amount = 0
    earned = 0
    for index in range(begin, end):
        month_quantity, month_amount_dec, month_quantity_int, month_amount_int = bought[index]
        shortfall = committed is not None and is_shortfall(month_quantity, committed)
        counts = not (shortfall and commitment_rule) and (counting is None or counting[index])
        if counts:
            quantity += month_quantity_int
            amount += month_amount_int
            if last_year is not None:
                last_quantity += last_year[index][0]
                last_amount += last_year[index][1]
            if second is not None:
                second_amount += second[index]
        # What the period has earned to date: the rate on its units, amount or growth, rounded half-up.
        if percents is not None:
            base = percents[0] * amount + percents[1] * second_amount
            now_earned = (base + half) // to_cents if base > 0 else 0
        else:
            if growth:
                base = (quantity - last_quantity if per_unit
                        else amount - (last_amount if stated is None else stated))
            else:
                base = quantity if per_unit else amount
            now_earned = (rate_int * base + half) // to_cents if base > 0 else 0
        if index < recompute_from:
            earned = now_earned  # a month before the changed ones: only where it leaves the period counts
            continue
        if not counts or (growth and base <= 0):
            rate_shown, per_unit_price = ZERO, ZERO_PER_UNIT  # no rate in force (or no growth yet)
        else:
            rate_shown = rate
            if fixed_per_unit is not None:
                per_unit_price = fixed_per_unit
            elif not month_quantity_int:
                per_unit_price = None
            else:
                per_unit_price = quantize_unit_price(ZERO + percent_of(percent, month_amount_dec / month_quantity))
        month_amount = now_earned - earned
        money = Decimal(month_amount) * CENT if month_amount else ZERO_CENTS
        result = _new(MonthResult)
        # The same fields in the same order as MonthResult(...), without its frozen __init__ (see results.py).
        result.__dict__.update(
            month=months[index], period_start=first, quantity=month_quantity, eligible_amount=month_amount_dec,
            accrual=money, catch_up=ZERO_CENTS, bonus=ZERO_CENTS, amount=money,
            cumulative=(money if now_earned == month_amount else Decimal(now_earned) * CENT if now_earned
                        else ZERO_CENTS),
            rate=rate_shown, bonus_rate=ZERO, rebate_per_unit=per_unit_price, shortfall=shortfall,
        )
        results.append(result)
        earned = now_earned


def _settlement_period(terms: AgreementTerms, rule: IntegerRule, earnings, months, bought, last_year, launches,
                       begin: int, end: int, recompute_from: int, results: list,
                       kind_months: _KindMonths | None) -> None:
    """calculate.py's `_settlement_period` in integers for months[begin:end], appending its MonthResults from
    months[recompute_from] on: each month's period-to-date volume, what it earns (rounded half-up to the
    cent, within minimum and cap, once the kind's condition holds), the month as the difference from the month
    before, and the part of it that restates earlier months (catch-up)."""
    engine_rule = terms.rule
    committed = terms.committed_monthly_quantity
    commitment_rule = engine_rule.commitment_rule
    bonuses = engine_rule.bonuses
    cents_at, band_of = earnings
    minimum, on_quantity, cap = rule.minimum, rule.minimum_on_quantity, rule.cap
    restates, growth, per_unit, rates = rule.restates, rule.growth, rule.per_unit, rule.rates
    stated = rule.stated_baseline
    on_second, qualifies = rule.minimum_on_second, rule.qualifies
    second, by_line, counting = kind_months[:3] if kind_months is not None else (None, None, None)
    line_amounts: dict[str, int] = {}  # the cents to date per product line (the product mix kind)
    first = months[begin]
    launched = dict.fromkeys(launches, ZERO) if launches else None
    # The period to date before the month computed: units, amount, last year's units and amount, the kind's
    # second measure; what it earned (cents) by the rule and by the bonus.
    quantity = amount = last_quantity = last_amount = second_amount = 0
    for index in range(begin, recompute_from):
        month_total = bought[index]
        if launched is not None:
            _launch(launched, launches, months[index])
        if (not (commitment_rule and is_shortfall(month_total[0], committed))
                and (counting is None or counting[index])):
            quantity += month_total[2]
            amount += month_total[3]
            if last_year is not None:
                last_quantity += last_year[index][0]
                last_amount += last_year[index][1]
            if second is not None:
                second_amount += second[index]
            if by_line is not None and by_line[index]:
                _add_lines(line_amounts, by_line[index])
    earned = bonus = 0
    if recompute_from != begin:
        extra = bonus_percent(bonuses, launched) if launched is not None else ZERO
        _, earned, bonus = _standing(rule, cents_at, quantity, amount, last_quantity, last_amount, second_amount,
                                     line_amounts, extra)
    unit_prices: dict[int, Decimal] = {}  # a per-unit rate's rebate per unit, by band
    for index in range(recompute_from, end):
        month_total = bought[index]
        month_quantity, month_amount_dec, month_quantity_int, month_amount_int = month_total
        month = months[index]
        shortfall = committed is not None and is_shortfall(month_quantity, committed)
        counts = not (shortfall and commitment_rule) and (counting is None or counting[index])
        extra = ZERO
        if launched is not None:
            _launch(launched, launches, month)
            extra = bonus_percent(bonuses, launched)
        now_second = second_amount
        if counts:
            now_quantity = quantity + month_quantity_int
            now_amount = amount + month_amount_int
            if last_year is not None:
                now_last_quantity = last_quantity + last_year[index][0]
                now_last_amount = last_amount + last_year[index][1]
            else:
                now_last_quantity, now_last_amount = last_quantity, last_amount
            if second is not None:
                now_second += second[index]
            if by_line is not None and by_line[index]:
                # Only the period to date is read from here on: the month's lines join it in place.
                _add_lines(line_amounts, by_line[index])
        else:
            now_quantity, now_amount, now_last_quantity, now_last_amount = quantity, amount, last_quantity, last_amount
        # Where the period stands after this month (calculate.py's `_standing`, inline).
        if ((minimum is not None
             and (now_quantity if on_quantity else now_second if on_second else now_amount) < minimum)
                or (qualifies is not None and not qualifies(line_amounts, now_amount))):
            now_reached, now_earned, now_bonus = False, 0, 0
        else:
            now_reached = True
            now_earned = cents_at(now_quantity, now_amount, now_last_quantity, now_last_amount, now_second, None)
            now_bonus = ((_scaled(extra, RATE_PLACES) * max(0, now_amount) + BONUS_TO_CENTS // 2) // BONUS_TO_CENTS
                         if extra else 0)
            if cap is not None:
                if now_earned > cap:
                    now_earned = cap
                if now_bonus > cap - now_earned:
                    now_bonus = cap - now_earned
        rule_amount = now_earned - earned
        catch_up = 0
        if restates:
            # Earlier months restated at the rate now reached (from nothing when the minimum was just reached),
            # less what they had booked; between 0 and the month's rule amount.
            restated = (cents_at(quantity, amount, last_quantity, last_amount, second_amount,
                                 band_of(now_quantity, now_amount))
                        if now_reached else 0)
            catch_up = restated - earned
            if rule_amount >= 0:
                catch_up = 0 if catch_up < 0 else rule_amount if catch_up > rule_amount else catch_up
            else:
                catch_up = rule_amount if catch_up < rule_amount else 0 if catch_up > 0 else catch_up
        bonus_amount = now_bonus - bonus
        # Nothing more is earned once the cap was reached, so no rate is in force.
        if counts and now_reached and not (cap is not None and earned + bonus >= cap):
            band = 0
            if growth and not _grows(rule, now_quantity, now_amount, now_last_quantity, now_last_amount, stated):
                rate = ZERO
            else:
                band = band_of(now_quantity, now_amount)
                rate = rates[band]
            bonus_rate = extra
            if extra is ZERO and per_unit and rate is not ZERO:
                per_unit_price = unit_prices.get(band)
                if per_unit_price is None:
                    per_unit_price = unit_prices[band] = quantize_unit_price(rate)
            elif extra is ZERO and rate is ZERO:
                per_unit_price = ZERO_PER_UNIT
            else:
                per_unit_price = _money_per_unit(per_unit, rate, bonus_rate, month_total)
        else:
            rate = bonus_rate = ZERO
            per_unit_price = ZERO_PER_UNIT
        month_amount = rule_amount + bonus_amount
        money = Decimal(month_amount) * CENT if month_amount else ZERO_CENTS
        accrual = rule_amount - catch_up
        cumulative = now_earned + now_bonus
        result = _new(MonthResult)
        # The same fields in the same order as MonthResult(...), without its frozen __init__ (see results.py).
        result.__dict__.update(
            month=month, period_start=first, quantity=month_quantity, eligible_amount=month_amount_dec,
            accrual=money if accrual == month_amount else Decimal(accrual) * CENT if accrual else ZERO_CENTS,
            catch_up=Decimal(catch_up) * CENT if catch_up else ZERO_CENTS,
            bonus=Decimal(bonus_amount) * CENT if bonus_amount else ZERO_CENTS,
            amount=money,
            cumulative=(money if cumulative == month_amount else Decimal(cumulative) * CENT if cumulative
                        else ZERO_CENTS),
            rate=rate, bonus_rate=bonus_rate, rebate_per_unit=per_unit_price, shortfall=shortfall,
        )
        results.append(result)
        quantity, amount, last_quantity, last_amount = now_quantity, now_amount, now_last_quantity, now_last_amount
        second_amount = now_second
        earned, bonus = now_earned, now_bonus


def _add_lines(line_amounts: dict[str, int], month: Mapping[str, int]) -> None:
    for line, cents in month.items():
        line_amounts[line] = line_amounts.get(line, 0) + cents


def _launch(launched: dict[str, Decimal], launches: Mapping[str, Mapping[date, MonthTotal]], month: date) -> None:
    for product, per_month in launches.items():
        launched[product] += per_month.get(month, NOTHING_BOUGHT).quantity


def _standing(rule: IntegerRule, cents_at, quantity: int, amount: int, last_quantity: int, last_amount: int,
              second: int, line_amounts: Mapping[str, int], extra: Decimal) -> tuple[bool, int, int]:
    """(reached, earned, bonus) of a period to date, in cents: nothing below the minimum or before the kind's
    condition holds; the rule, then the bonus percent `extra`, both within the cap (calculate.py's
    `_standing`)."""
    if rule.minimum is not None and (
        quantity if rule.minimum_on_quantity else second if rule.minimum_on_second else amount
    ) < rule.minimum:
        return False, 0, 0
    if rule.qualifies is not None and not rule.qualifies(line_amounts, amount):
        return False, 0, 0
    from_rule = cents_at(quantity, amount, last_quantity, last_amount, second, None)
    bonus = ((_scaled(extra, RATE_PLACES) * max(0, amount) + BONUS_TO_CENTS // 2) // BONUS_TO_CENTS
             if extra else 0)
    if rule.cap is not None:
        from_rule = min(from_rule, rule.cap)
        bonus = min(bonus, rule.cap - from_rule)
    return True, from_rule, bonus


def _grows(rule: IntegerRule, quantity: int, amount: int, last_quantity: int, last_amount: int,
           stated: int | None) -> bool:
    """Whether the volume is above its baseline (a growth measure's rate is in force only then)."""
    if rule.per_unit:
        return quantity > last_quantity  # a stated baseline in units never gets here
    return amount > (last_amount if stated is None else stated)


def _earnings(rule: IntegerRule) -> tuple[Callable[..., int], Callable[[int, int], int]]:
    """Two functions for the rule's shape, chosen once per calculation:
    cents_at(quantity, amount, last_quantity, last_amount, second, band): what the volume earns, in cents
    rounded half-up, never below 0, at the band's rate (None: the band the volume reached; incremental tiers
    pay each band's share at its own rate whatever is asked; `second` is the kind's second measure, read by
    the kinds with `percents`); and band_of(quantity, amount): the band the volume reached (0 without bands)."""
    rates, thresholds = rule.rate_ints, rule.thresholds
    per_unit, growth, stated = rule.per_unit, rule.growth, rule.stated_baseline
    on_quantity = rule.basis_is_quantity
    to_cents = rule.to_cents
    half = to_cents // 2

    if len(thresholds) > 1:
        def band_of(quantity: int, amount: int) -> int:
            return bisect_right(thresholds, quantity if on_quantity else amount, 1) - 1
    else:
        def band_of(quantity: int, amount: int) -> int:
            return 0

    if rule.percents is not None:
        own, other = rule.percents

        def cents_at(quantity, amount, last_quantity, last_amount, second, band):
            total = own * amount + other * second
            return (total + half) // to_cents if total > 0 else 0
    elif rule.incremental:
        bands = tuple(zip(rates, thresholds, (*thresholds[1:], None), strict=True))
        other_measure = rule.other_measure

        def cents_at(quantity, amount, last_quantity, last_amount, second, band):
            value = quantity if on_quantity else amount
            total = 0
            for rate, low, high in bands:
                top = value if high is None or value < high else high
                if top > low:
                    total += rate * (top - low)
            if total <= 0:
                return 0
            if other_measure:
                return _cents_of_share(total, on_quantity, quantity, amount)
            return (total + half) // to_cents
    elif growth:
        def cents_at(quantity, amount, last_quantity, last_amount, second, band):
            rate = rates[band_of(quantity, amount) if band is None else band]
            if per_unit:
                over = quantity - last_quantity
            else:
                over = amount - (last_amount if stated is None else stated)
            return (rate * over + half) // to_cents if over > 0 else 0
    else:
        def cents_at(quantity, amount, last_quantity, last_amount, second, band):
            rate = rates[band_of(quantity, amount) if band is None else band]
            base = quantity if per_unit else amount
            return (rate * base + half) // to_cents if base > 0 else 0
    return cents_at, band_of


# Incremental bands on another measure than the rate's: what the bands earn on their measure, times the
# rate's measure over the bands' (400 units in bands at $10 a unit are $4,000 of amount), in cents.
# Bands on units with percents: `total` is in 10^-9 of money (a 10^-4 percent of 10^-3 units, / 100), the
# amount in cents over the units in thousandths: cents = total x amount / (units x 10^6). Bands on money with
# money per unit: `total` in 10^-6 (10^-4 money per unit on cents), times thousandths of a unit over cents:
# cents = total x units / (amount x 10^5).
_SHARE_SCALE = {True: 10**6, False: 10**5}


def _cents_of_share(total: int, on_quantity: bool, quantity: int, amount: int) -> int:
    """The Decimal path's `banded * base / value`, rounded half-up to the cent (kinds.py `_incremental`).

    Its product is exact and its quotient rounded to 28 digits before the cent: the same cent as the exact
    fraction's while the numerator N stays below SHARE_LIMIT (10^27). A fraction N/D of a cent that is not
    exactly on a half cent is at least 1/(2D) away from it, more than half the quotient's 28th digit
    (N/D x 10^-27 / 2 cents); one exactly on a half cent has few digits, and the quotient is exact.
    `calculate` checks the bound before it starts."""
    value, base = (quantity, amount) if on_quantity else (amount, quantity)
    if value <= 0 or base <= 0:
        return 0
    numerator, denominator = total * base, value * _SHARE_SCALE[on_quantity]
    return (2 * numerator + denominator) // (2 * denominator)


def _money_per_unit(per_unit_rate: bool, rate: Decimal, bonus_rate: Decimal, total: tuple) -> Decimal | None:
    """calculate.py's `_money_per_unit`, in the same Decimals (the month's average price divides)."""
    fixed = rate if per_unit_rate else ZERO
    percent = bonus_rate + (ZERO if per_unit_rate else rate)
    if percent == 0:
        return quantize_unit_price(fixed)
    if not total[2]:
        return None
    return quantize_unit_price(fixed + percent_of(percent, total[1] / total[0]))
