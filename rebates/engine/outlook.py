"""Where a settlement period stands and where it is heading: the next threshold and the period-end forecast.

Both are worked out by the engine's own `calculate`, so they can never disagree with what the ledger will
book: the next tier's extra rebate is the difference `calculate` finds when the stated volume is added, and
the forecast is `calculate` run over the actual months plus the projected ones. Pure: no Django, no
database, no clock (`as_of` comes in as an argument).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from functools import cached_property, lru_cache

from .calculate import calculate, month_on_top, period_earned
from .choices import Baseline, TierBasis
from .lines import NOTHING_BOUGHT, MonthTotal, PurchaseLine, monthly_totals, totals_as_lines
from .money import CENT, HUNDRED, ZERO, quantize_money
from .periods import SettlementFrequency, add_months, month_of, months_from, period_start
from .rules import Volume
from .terms import AgreementTerms, RateType

UNITS = "units"
AMOUNT = "amount"
QUANTITY_STEP = Decimal("0.001")

TIER = "tier"
MINIMUM = "minimum"
CAP = "cap"


@dataclass(frozen=True)
class Period:
    """The settlement period holding a day: its first and last month (the last within the term)."""

    first: date
    last: date

    @cached_property
    def months(self) -> tuple[date, ...]:
        return months_from(self.first, self.last)

    @property
    def last_day(self) -> date:
        return add_months(self.last, 1) - timedelta(days=1)

    @property
    def payout_month(self) -> date:
        """The month the period is settled and paid: the month after it ends."""
        return add_months(self.last, 1)


def settlement_period(terms: AgreementTerms, as_of: date) -> Period:
    """The settlement period `as_of` falls in; before the term, the first; after it, the last."""
    return _period(terms.start_month, terms.settlement_frequency, terms.last_month, month_of(as_of))


@lru_cache(maxsize=4096)
def _period(start_month: date, frequency: str, last_month: date, as_month: date) -> Period:
    # A night's thousands of agreements share a few terms and one as-of month: each period is worked out once.
    month = min(max(as_month, start_month), last_month)
    first = period_start(start_month, frequency, month)
    length = SettlementFrequency(frequency).months
    return Period(first, min(add_months(first, length - 1), last_month))


@dataclass(frozen=True)
class NextTier:
    """How far a settlement period is from its next threshold, and what reaching it is worth.

    - `threshold_kind`: "minimum" (nothing is earned below it), "tier" (a band with a higher rate) or "cap"
      (the most the period can earn); `threshold` and `standing` are in `measure` ("units" or "amount"),
      for a tier on the baseline in percent of it.
    - `to_go_units`, `to_go_amount`: the purchases that reach it (one of them converted at `unit_price`).
    - `extra`: what the period earns more once they are bought, of which `extra_catch_up` restates the
      period's earlier months at the new rate; `extra_on_volume` is the rest. Exactly what `calculate`
      books when `to_go_units` for `to_go_amount` are bought in `target_month`.
    - `days_left` to the period's end; `needed_per_month` in the measure over `months_left` (the months
      after the as-of month; at least 1) against `own_per_month`, the period's own monthly run-rate so far.
    """

    period: Period
    as_of: date
    threshold_kind: str
    measure: str
    threshold: Decimal
    standing: Decimal
    to_go: Decimal
    to_go_units: Decimal
    to_go_amount: Decimal
    unit_price: Decimal
    earned_to_date: Decimal
    rate_now: Decimal
    rate_then: Decimal
    extra: Decimal
    extra_catch_up: Decimal
    extra_on_volume: Decimal
    target_month: date
    days_left: int
    months_left: int
    needed_per_month: Decimal
    own_per_month: Decimal

    @property
    def on_track(self) -> bool:
        """Whether the period's own run-rate reaches the threshold before it ends."""
        return self.own_per_month >= self.needed_per_month


def _ceil(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_CEILING)


def _by_month_alone(terms) -> bool:
    """Whether a period's standing follows from its volume alone: not when a month may not count (the
    commitment rule, a conditional kind), which only calculate's month-by-month pass says."""
    return not (terms.rule.commitment_rule or terms.rule.kind_class.conditional_months)


def _period_volume(terms, period, as_month, results, last_year, bought):
    """The period's volume to date as calculate counts it (shortfall months left out under the commitment
    rule, months a conditional kind does not count) and the customer's months of it, up to the as-of month.
    `bought`: the term's monthly totals, which a conditional kind reads."""
    rule = terms.rule
    kind = rule.kind_class
    quantity = amount = base_quantity = base_amount = ZERO
    counted = 0
    for result in results:
        if not (period.first <= result.month <= as_month):
            continue
        counted += 1
        if result.shortfall and rule.commitment_rule:
            continue
        if kind.conditional_months and not kind.month_counts(rule, bought, result.month, terms.start_month):
            continue
        quantity += result.quantity
        amount += result.eligible_amount
        before = last_year.get(result.month, NOTHING_BOUGHT)
        base_quantity += before.quantity
        base_amount += before.amount
    return Volume(quantity, amount, base_quantity, base_amount), counted


def _last_year_by_month(terms: AgreementTerms, last_year: Mapping[date, MonthTotal]) -> dict[date, MonthTotal]:
    """Last year's totals (by their own months) under the months a year later, for a rule that reads them."""
    if terms.rule.baseline is not Baseline.LAST_YEAR:
        return {}
    return {add_months(month, 12): total for month, total in last_year.items()}


class _Purchases:
    """An agreement's purchases in scope as `forecast` and `next_tier` are given them: lines, or their totals per
    month (month -> MonthTotal, as `monthly_totals` makes them; the nightly outlook reads them so, summed by the
    database). Both read them per month, and as lines only where calculate's month-by-month pass needs them."""

    __slots__ = ("_lines", "totals")

    def __init__(self, given: Iterable[PurchaseLine] | Mapping[date, MonthTotal]):
        if isinstance(given, Mapping):
            self._lines, self.totals = None, given
        else:
            self._lines = tuple(given)
            self.totals = monthly_totals(self._lines)

    def until(self, as_month: date) -> dict[date, MonthTotal]:
        """The totals of the months up to `as_month`."""
        return {month: total for month, total in self.totals.items() if month <= as_month}

    def lines(self, as_month: date | None = None) -> tuple[PurchaseLine, ...]:
        """The lines (of the months up to `as_month` when given)."""
        if self._lines is None:
            self._lines = totals_as_lines(self.totals)
        if as_month is None:
            return self._lines
        return tuple([line for line in self._lines if line.month <= as_month])


def next_tier(
    terms: AgreementTerms,
    lines: Sequence[PurchaseLine] | Mapping[date, MonthTotal],
    *,
    as_of: date,
    last_year_lines: Iterable[PurchaseLine] | None = None,
    unit_price: Decimal | None = None,
) -> NextTier | None:
    """The next threshold of the settlement period `as_of` falls in: the minimum while it is not reached,
    else the next tier band, else the cap; None when there is none (a flat rule with neither, or all
    reached), when the period has ended, or when units cannot be priced (nothing bought, no `unit_price`).

    `lines` are the agreement's purchases in scope (any months; those after the as-of month are ignored), or
    their totals per month (month -> MonthTotal); `last_year_lines` the year before's (the same by default).
    `unit_price` converts units and amounts; by default the period's average price to date, else that of the
    months from last year's first month of the period to the as-of month (lines before those never change the
    price).
    """
    purchases = _Purchases(lines)
    last_year_lines = None if last_year_lines is None else tuple(last_year_lines)
    as_month = month_of(as_of)
    if as_month < terms.start_month or as_month > terms.last_month:
        return None
    period = settlement_period(terms, as_of)
    # What the period had bought by the as-of month (later, already-sent lines are not yet counted).
    known = purchases.until(as_month)
    # Only the period's own months: those before it cannot change what it earns.
    this_period = (period.first,)
    last_year = _last_year_by_month(
        terms, purchases.totals if last_year_lines is None else monthly_totals(last_year_lines))
    if last_year_lines is None and not _by_month_alone(terms):
        last_year_lines = purchases.lines()
    if not _by_month_alone(terms):
        # Shortfall months (and months a conditional kind does not count) leave the volume: the engine says
        # which they are.
        results = calculate(terms, purchases.lines(as_month), as_of=as_of, last_year_lines=last_year_lines,
                            changed_months=this_period)
        volume, months_counted = _period_volume(terms, period, as_month, results, last_year, known)
        earned = _cumulative_at(results, period, as_month)
    else:
        # The period's cumulative follows from its volume to date alone (calculate's own rule).
        volume, months_counted = _period_volume_of(known, period, as_month, last_year)
        earned = period_earned(terms.rule, volume)
    price = unit_price if unit_price is not None else _average_price(known, period, as_month)
    if price is None or price <= 0:
        return None
    # The stated volume is bought next month when the period has one, else on top of the as-of month.
    next_month = add_months(as_month, 1)
    target = next_month if next_month <= period.last else as_month
    to_date = volume
    if target != as_month and last_year:
        # Next month brings its month of last year into the baseline.
        before = last_year.get(target, NOTHING_BOUGHT)
        volume = volume._replace(baseline_quantity=volume.baseline_quantity + before.quantity,
                                 baseline_amount=volume.baseline_amount + before.amount)
    found = _next_threshold(terms, volume, earned)
    if found is None:
        return None
    kind, measure, threshold, standing, to_go_units, to_go_amount = _reaching(*found, volume, price, terms)
    if to_go_units <= 0 and to_go_amount <= 0:
        return None
    if _by_month_alone(terms):
        # The period's months before the target month stand by their volume alone: the target month is
        # calculate's month on top of them, as it is and with the stated volume bought in it.
        if target == as_month:
            base, _ = _period_volume_of(known, period, add_months(as_month, -1), last_year)
            bought = known.get(as_month, NOTHING_BOUGHT)
        else:
            base, bought = to_date, NOTHING_BOUGHT
        before_target = last_year.get(target, NOTHING_BOUGHT)
        cumulative_before, catch_up_before, _ = month_on_top(terms.rule, base, bought, before_target)
        cumulative, catch_up_after, rate_then = month_on_top(
            terms.rule, base, MonthTotal(bought.quantity + to_go_units, bought.amount + to_go_amount), before_target)
        extra = cumulative - cumulative_before
        catch_up = catch_up_after - catch_up_before
    else:
        # Which months count only calculate's month-by-month pass says: the target month as it is and with
        # the stated volume bought in it.
        target_end = add_months(target, 1) - timedelta(days=1)
        known_lines = purchases.lines(as_month)
        before_month = calculate(terms, known_lines, as_of=target_end, last_year_lines=last_year_lines,
                                 changed_months=this_period)[-1]
        after_month = calculate(terms, known_lines + (PurchaseLine(target, to_go_units, to_go_amount),),
                                as_of=target_end, last_year_lines=last_year_lines, changed_months=this_period)[-1]
        extra = after_month.cumulative - before_month.cumulative
        catch_up = after_month.catch_up - before_month.catch_up
        rate_then = after_month.rate
    months_left = len([m for m in period.months if m > as_month])
    to_go = to_go_units if measure == UNITS else to_go_amount
    own = (volume.quantity if measure == UNITS else volume.amount) / months_counted if months_counted else ZERO
    return NextTier(
        period=period, as_of=as_of, threshold_kind=kind, measure=measure, threshold=threshold, standing=standing,
        to_go=to_go, to_go_units=to_go_units, to_go_amount=to_go_amount, unit_price=price,
        earned_to_date=earned, rate_now=_rate_in_force(terms.rule, volume), rate_then=rate_then,
        extra=extra, extra_catch_up=catch_up, extra_on_volume=extra - catch_up, target_month=target,
        days_left=max(0, (period.last_day - as_of).days), months_left=months_left,
        needed_per_month=_per_month(to_go, max(1, months_left), measure),
        own_per_month=_per_month(own, 1, measure),
    )


def _rate_in_force(rule, volume: Volume) -> Decimal:
    """The rate a further unit or dollar earns on the volume to date: 0 below the minimum."""
    kind = rule.kind_class
    if rule.minimum is not None and kind.minimum_volume(rule, volume) < rule.minimum:
        return ZERO
    return kind.rate_in_force(rule, volume)


def _period_volume_of(bought, period, as_month, last_year):
    """The period's volume to date from the totals `bought` per month (no month left out) and its months so
    far."""
    quantity = amount = base_quantity = base_amount = ZERO
    counted = 0
    for month in period.months:
        if month > as_month:
            break
        counted += 1
        total = bought.get(month, NOTHING_BOUGHT)
        before = last_year.get(month, NOTHING_BOUGHT)
        quantity += total.quantity
        amount += total.amount
        base_quantity += before.quantity
        base_amount += before.amount
    return Volume(quantity, amount, base_quantity, base_amount), counted


def _per_month(value: Decimal, months: int, measure: str) -> Decimal:
    step = QUANTITY_STEP if measure == UNITS else CENT
    return (value / months).quantize(step, rounding=ROUND_HALF_UP)


def _cumulative_at(results, period, as_month) -> Decimal:
    for result in reversed(results):
        if period.first <= result.month <= as_month:
            return result.cumulative
    return Decimal("0.00")


def _average_price(bought, period, as_month) -> Decimal | None:
    """The period's average net price to date; for a period that bought nothing (or only credits), that of
    the agreement's own window: from last year's first month of the period to the as-of month. Fixed by the
    period alone, so the price never depends on how far back the caller read (an outlook chunk reads back to
    the earliest period of all its agreements); None when that window has no price either."""
    window_first = add_months(period.first, -12)
    for first in (period.first, window_first):
        quantity = amount = ZERO
        for month, total in bought.items():
            if first <= month <= as_month:
                quantity += total.quantity
                amount += total.amount
        if quantity > 0 and amount > 0:
            return amount / quantity
    return None


def _next_threshold(terms, volume: Volume, earned: Decimal):
    """(kind, measure, threshold, standing) of the nearest threshold not yet reached, or None."""
    rule = terms.rule
    kind = rule.kind_class
    in_units = kind.minimum_volume(rule, Volume(Decimal(1), ZERO)) == 1
    if rule.minimum is not None:
        standing = kind.minimum_volume(rule, volume)
        if standing < rule.minimum:
            return MINIMUM, UNITS if in_units else AMOUNT, rule.minimum, standing
    if kind.banded:
        from .rules import basis_value

        value = basis_value(rule, volume)
        for band in rule.bands:
            if band.threshold > value:
                if rule.tier_basis is TierBasis.PERCENT_OF_BASELINE:
                    baseline = (rule.baseline_amount if rule.baseline is Baseline.STATED
                                else volume.baseline_amount)
                    if not baseline or baseline <= 0:
                        break  # no baseline: the percent of it stays 0, no band can be reached
                    return TIER, AMOUNT, band.threshold * baseline / HUNDRED, volume.amount
                measure = UNITS if rule.tier_basis is TierBasis.QUANTITY else AMOUNT
                return TIER, measure, band.threshold, value
    if rule.cap is not None:
        rate = kind.rate_in_force(rule, volume)
        if earned < rule.cap and rate > 0:
            remaining = rule.cap - earned
            if rule.rate_unit is RateType.PER_UNIT:
                return CAP, UNITS, volume.quantity + remaining / rate, volume.quantity
            return CAP, AMOUNT, volume.amount + remaining * HUNDRED / rate, volume.amount
    return None


def _reaching(kind, measure, threshold, standing, volume, price, terms):
    """The purchase that reaches the threshold: (kind, measure, threshold, standing, units, amount)."""
    if measure == UNITS:
        units = _ceil(threshold - standing, QUANTITY_STEP)
        amount = quantize_money(units * price)
    else:
        amount = _ceil(threshold - standing, CENT)
        units = _ceil(amount / price, QUANTITY_STEP)
    return kind, measure, threshold, standing, units, amount


@dataclass(frozen=True)
class Forecast:
    """A settlement period's end as its run-rate says it will be.

    - `volume_quantity`, `volume_amount`: the period's units and net amount at its end, actual months plus
      projected ones; `rebate`: what `calculate` says the period earns on them (its cumulative);
      `payout`: what will be paid for it in `payout_month` (nothing once the agreement is terminated: the
      balance is forfeited); `rebate_to_date`: what it has earned by the as-of month.
    - `method`: "actual" (the period has ended), "last year" (remaining months shaped by last year's same
      months, scaled by this period's growth on them) or "run-rate" (the average month so far, repeated).
    """

    period: Period
    as_of: date
    volume_quantity: Decimal
    volume_amount: Decimal
    rebate: Decimal
    payout: Decimal
    rebate_to_date: Decimal
    method: str
    projected: tuple[PurchaseLine, ...] = ()

    @property
    def payout_month(self) -> date:
        return self.period.payout_month


ACTUAL = "actual"
LAST_YEAR = "last year"
RUN_RATE = "run-rate"


def forecast(
    terms: AgreementTerms,
    lines: Sequence[PurchaseLine] | Mapping[date, MonthTotal],
    *,
    as_of: date,
    last_year_lines: Iterable[PurchaseLine] | None = None,
    bonus_lines: Iterable[PurchaseLine] = (),
    clearance_lines: Iterable[PurchaseLine] = (),
    mix_lines: Iterable[PurchaseLine] = (),
    referral_lines: Iterable[PurchaseLine] = (),
) -> Forecast:
    """The period-end volume, rebate and payout of the settlement period `as_of` falls in.

    The months after the as-of month are projected: where last year bought in the same month (and in the
    months elapsed, to compare with), last year's month times this period's ratio to last year so far;
    otherwise the period's average month so far. The as-of month counts as elapsed with what it holds.
    A period that has ended is forecast as its actual. `lines` are the agreement's purchases in scope, or their
    totals per month (month -> MonthTotal), as `next_tier`'s. `clearance_lines` and `mix_lines` are calculate's (the
    clearance and product mix kinds): the projected months add none, so they earn at the rule's own rate
    only, on no product line. `referral_lines` (the referral kind): the projected months add no referred
    purchases, so a referral period is forecast at what its referred purchases to date earn.
    """
    purchases = _Purchases(lines)
    bonus_lines = tuple(bonus_lines)
    as_month = month_of(as_of)
    period = settlement_period(terms, as_of)
    elapsed, remaining = _months_around(period, as_month)
    # Each month's totals, read once: the months so far, and last year's when both come from the same lines.
    bought = purchases.until(as_month)
    if last_year_lines is None:
        before = bought
    else:
        last_year_lines = tuple(last_year_lines)
        before = monthly_totals(last_year_lines)
    projected, method = _projection(bought, before, elapsed, remaining)
    forfeited = terms.terminated_on is not None
    rule = terms.rule
    kind = rule.kind_class
    extra_inputs = kind.reads_clearance or kind.period_condition or kind.reads_referral
    if _by_month_alone(terms) and not extra_inputs and not (rule.bonuses and bonus_lines):
        # A period's cumulative follows from its volume to date alone: no month-by-month pass is needed.
        last_year = ({add_months(month, 12): total for month, total in before.items()}
                     if rule.baseline is Baseline.LAST_YEAR else {})
        quantity, amount, rebate, to_date = _period_figures(rule, period, bought, projected, last_year, as_month)
    else:
        results = calculate(terms, purchases.lines(as_month) + projected, as_of=period.last_day,
                            last_year_lines=purchases.lines() if last_year_lines is None else last_year_lines,
                            bonus_lines=bonus_lines, changed_months=(period.first,),
                            clearance_lines=[line for line in clearance_lines if line.month <= as_month],
                            mix_lines=[line for line in mix_lines if line.month <= as_month],
                            referral_lines=[line for line in referral_lines if line.month <= as_month])
        in_period = [r for r in results if r.month >= period.first]
        rebate = in_period[-1].cumulative if in_period else Decimal("0.00")
        to_date = _cumulative_at(in_period, period, as_month)
        quantity = sum((r.quantity for r in in_period), ZERO)
        amount = sum((r.eligible_amount for r in in_period), Decimal("0.00"))
    return Forecast(
        period=period, as_of=as_of, volume_quantity=quantity, volume_amount=amount,
        rebate=rebate, payout=Decimal("0.00") if forfeited else rebate, rebate_to_date=to_date,
        method=ACTUAL if not remaining else method, projected=projected,
    )


def _period_figures(rule, period, bought, projected, last_year, as_month):
    """(units, amount, earned at the period's end, earned by the as-of month) of the period: the months
    `bought` so far and the `projected` ones, by the engine's own rule for a period's cumulative
    (`period_earned`)."""
    ahead = {line.month: line for line in projected}
    quantity = amount = base_quantity = base_amount = ZERO
    to_date = Decimal("0.00")
    for month in period.months:
        total = bought.get(month, NOTHING_BOUGHT) if month <= as_month else ahead.get(month, NOTHING_BOUGHT)
        before = last_year.get(month, NOTHING_BOUGHT)
        quantity += total.quantity
        amount += total.amount
        base_quantity += before.quantity
        base_amount += before.amount
        if month == as_month:
            to_date = period_earned(rule, Volume(quantity, amount, base_quantity, base_amount))
    end = period_earned(rule, Volume(quantity, amount, base_quantity, base_amount))
    if as_month >= period.last:
        to_date = end
    return quantity, amount if amount else Decimal("0.00"), end, to_date


@lru_cache(maxsize=1024)
def _months_around(period: Period, as_month: date) -> tuple[tuple[date, ...], tuple[date, ...]]:
    """The period's months up to the as-of month and those after it (a night's agreements share a few)."""
    return (tuple(m for m in period.months if m <= as_month), tuple(m for m in period.months if m > as_month))


@lru_cache(maxsize=1024)
def _year_before(months: tuple[date, ...]) -> tuple[date, ...]:
    return tuple(add_months(m, -12) for m in months)


def _projection(bought, before, elapsed, remaining) -> tuple[tuple[PurchaseLine, ...], str]:
    """The months left, projected from the months `bought` so far and last year's (`before`, by their own
    months); the method used."""
    if not remaining:
        return (), ACTUAL
    so_far = _sum(bought, elapsed)
    last_year_so_far = _sum(before, _year_before(elapsed))
    last_year_rest = [before.get(m, NOTHING_BOUGHT) for m in _year_before(remaining)]
    shaped = (last_year_so_far.quantity > 0 and last_year_so_far.amount > 0
              and any(total.quantity > 0 for total in last_year_rest))
    projected = []
    if shaped:
        quantity_ratio = so_far.quantity / last_year_so_far.quantity
        amount_ratio = so_far.amount / last_year_so_far.amount
        for month, total in zip(remaining, last_year_rest, strict=True):
            projected.append(_line(month, total.quantity * quantity_ratio, total.amount * amount_ratio))
        method = LAST_YEAR
    else:
        count = len(elapsed) or 1
        for month in remaining:
            projected.append(_line(month, so_far.quantity / count, so_far.amount / count))
        method = RUN_RATE
    return tuple(line for line in projected if line.quantity or line.amount), method


def _line(month: date, quantity: Decimal, amount: Decimal) -> PurchaseLine:
    return PurchaseLine(month, quantity.quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP), quantize_money(amount))


def _sum(totals: Mapping[date, MonthTotal], months) -> MonthTotal:
    """The totals of these months added up (a month not in `totals` bought nothing)."""
    quantity = amount = ZERO
    for month in months:
        total = totals.get(month)
        if total is not None:
            quantity += total.quantity
            amount += total.amount
    return MonthTotal(quantity, amount)


__all__ = ["CAP", "MINIMUM", "TIER", "Forecast", "NextTier", "Period", "forecast", "next_tier", "settlement_period"]
