"""The entry point: an agreement's terms and purchase lines in, the expected ledger month by month out.

For every month the engine computes the settlement period's cumulative earnings to date from
period-to-date totals (rounded to the cent, capped), and books the month as the difference from the
month before. Retroactive tiers, minimums, caps, credit notes and bonuses all follow from that one
rule, and a period's months always add up to its cumulative exactly.

The maths is done in exact integers (exact.py) wherever that gives the same results, which is nearly
always; `calculate_decimal` does it all in Decimals, the reference the integers are tested against.
"""

from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from itertools import groupby
from typing import NamedTuple

from . import exact
from .bonus import bonus_percent
from .lines import NOTHING_BOUGHT, MonthTotal, PurchaseLine, monthly_totals
from .money import ZERO, ZERO_MONEY, percent_of, quantize_money, quantize_unit_price
from .periods import SettlementFrequency, add_months, month_of, months_from
from .results import MonthResult, is_shortfall
from .rules import Volume
from .terms import AgreementTerms, Baseline, RateType, RebateRule


class _Standing(NamedTuple):
    """A settlement period after some month: volume to date and what it has earned (rounded, capped)."""

    volume: Volume
    reached: bool  # the minimum, if any
    earned: Decimal
    bonus: Decimal

    @property
    def total(self) -> Decimal:
        return self.earned + self.bonus


_NOTHING_YET = _Standing(Volume(), False, ZERO, ZERO)


def accrual_months(terms: AgreementTerms, as_of: date) -> tuple[date, ...]:
    """The months that accrue by `as_of`: from the term's start to the as-of month or the term's last
    month (end or termination), whichever comes first. Empty before the term starts."""
    if not isinstance(as_of, date) or isinstance(as_of, datetime):
        raise TypeError(f"as_of must be a date, got {type(as_of).__name__}")
    return months_from(terms.start_month, min(month_of(as_of), terms.last_month))


def calculate(
    terms: AgreementTerms,
    lines: Iterable[PurchaseLine],
    *,
    as_of: date,
    last_year_lines: Iterable[PurchaseLine] = (),
    bonus_lines: Iterable[PurchaseLine] = (),
    changed_months: Collection[date] | None = None,
    integers: bool = True,
    clearance_lines: Iterable[PurchaseLine] = (),
    mix_lines: Iterable[PurchaseLine] = (),
    referral_lines: Iterable[PurchaseLine] = (),
) -> tuple[MonthResult, ...]:
    """The expected ledger of an agreement, one MonthResult per month that accrues by `as_of`, in order.

    `changed_months`, when given, names the only months whose purchases changed since the ledger was last
    computed: the result then holds only the months that can differ, from the first changed month of each
    settlement period holding one to that period's end. A month depends only on the months of its period
    up to itself (and their months of last year), so those results are the same as in the whole term's.

    `lines` are the agreement's purchases in scope; lines in months that do not accrue (outside the term,
    after termination, after as_of) are ignored. `last_year_lines` are the same scope's purchases of the
    year before (their own months; used when the rule's baseline is last year's same period).
    `bonus_lines` are the customer's purchases of launch-bonus products, matched by `product`.
    `clearance_lines` are the part of `lines` bought of products in their clearance window (read by the
    clearance kind only, over the whole term even when only some months changed). `mix_lines` are `lines` by
    product line (its id as text in `product`; read by the product mix kind only, over the whole term).
    `referral_lines` are the referred customers' purchases in scope in their referral months (the customer's
    code in `product`; read by the referral kind only, over the whole term).

    Commitment rule: a shortfall month's own volume (and its month of last year) is left out of the
    period-to-date totals for good, so it earns nothing, moves no tier and never earns later as catch-up.
    A month whose kind says it does not count (`Kind.month_counts`, the conditional kind) is left out the
    same way; a changed month then also changes the months its purchases decide (`Kind.reach`).
    """
    months = accrual_months(terms, as_of)
    if integers:
        # The integer maths may hand over to the Decimals after reading the lines: read once, they are kept.
        if not isinstance(last_year_lines, list | tuple):
            # The same iterator as `lines` is read up by them, as it always was.
            last_year_lines = () if last_year_lines is lines else tuple(last_year_lines)
        if not isinstance(lines, list | tuple):
            lines = tuple(lines)
        if not isinstance(clearance_lines, list | tuple):
            clearance_lines = tuple(clearance_lines)
        if not isinstance(mix_lines, list | tuple):
            mix_lines = tuple(mix_lines)
        if not isinstance(referral_lines, list | tuple):
            referral_lines = tuple(referral_lines)
        results = exact.calculate(terms, months, lines, last_year_lines, bonus_lines, changed_months,
                                  clearance_lines, mix_lines, referral_lines)
        if results is not None:
            return results
    bought = monthly_totals(lines)
    # Only a rule measured against last year reads last year's months; often from the same lines.
    same_lines = last_year_lines is lines and isinstance(lines, list | tuple)
    last_year = (
        {add_months(month, 12): total
         for month, total in (bought if same_lines else monthly_totals(last_year_lines)).items()}
        if terms.rule.baseline is Baseline.LAST_YEAR else {}
    )
    bonus_lines = tuple(bonus_lines)
    cleared = ({month: total.amount for month, total in monthly_totals(clearance_lines).items()}
               if terms.rule.kind_class.reads_clearance else {})
    referred = ({month: total.amount for month, total in monthly_totals(referral_lines).items()}
                if terms.rule.kind_class.reads_referral else {})
    by_line: dict[date, dict[str, Decimal]] = {}
    if terms.rule.kind_class.period_condition:
        for line in mix_lines:
            amounts = by_line.setdefault(line.month, {})
            amounts[line.product] = amounts.get(line.product, ZERO) + line.amount
    launches = {b.product: monthly_totals(bonus_lines, product=b.product) for b in terms.rule.bonuses}
    # Months are consecutive from the term's start, so the i-th month is in period i // length.
    length = SettlementFrequency(terms.settlement_frequency).months

    kind = terms.rule.kind_class
    reach = kind.reach(terms.rule)
    if changed_months is not None and reach:
        # A month's purchases decide whether the next months count: those months can differ too.
        changed_months = {add_months(month, step) for month in changed_months for step in range(reach + 1)}
    results: list[MonthResult] = []
    for number, indexed in groupby(enumerate(months), key=lambda pair: pair[0] // length):
        period = tuple(month for _, month in indexed)
        first = add_months(terms.start_month, number * length)
        recompute_from = first
        if changed_months is not None:
            changed = [month for month in changed_months if period[0] <= month <= period[-1]]
            if not changed:
                continue
            recompute_from = min(changed)
        results.extend(_settlement_period(terms, first, period, bought, last_year, launches, recompute_from,
                                          cleared, by_line, referred))
    return tuple(results)


def months_in_part(terms: AgreementTerms, changed_months: Collection[date], *,
                   as_of: date) -> tuple[frozenset[date], frozenset[date]]:
    """What recomputing an agreement in part needs when the purchases of `changed_months` changed: (the
    months to hand `calculate` as its `changed_months`, the months whose purchases it must be given afresh).

    For most rules both are the changed months: the other months of their periods are as they were. A rule
    measured against last year's same period reads the year before too: a changed month also moves the
    period holding the same month a year later, and every month of each period to recompute is read
    afresh with its month of last year (the ledger holds a month's own purchases, not last year's)."""
    changed = frozenset(changed_months)
    if terms.rule.baseline is not Baseline.LAST_YEAR:
        return changed, changed
    recompute = changed | {add_months(month, 12) for month in changed}
    months = accrual_months(terms, as_of)
    length = SettlementFrequency(terms.settlement_frequency).months
    index = {month: i for i, month in enumerate(months)}
    read = set(changed)
    for begin in {index[month] // length * length for month in recompute if month in index}:
        for month in months[begin:begin + length]:
            read.update((month, add_months(month, -12)))
    return recompute, frozenset(read)


def periods_holding(terms: AgreementTerms, months: Collection[date], *, as_of: date) -> frozenset[date]:
    """Every accruing month (by `as_of`) of the settlement periods that hold one of `months` or of the months it
    decides (the kind's `reach`): what `calculate` reads, recomputing `months` in part, of the lines a kind
    reads besides the agreement's own (clearance, product mix, referral), as each period earns to date."""
    reach = terms.rule.kind_class.reach(terms.rule)
    accruing = accrual_months(terms, as_of)
    length = SettlementFrequency(terms.settlement_frequency).months
    index = {month: i for i, month in enumerate(accruing)}
    held: set[date] = set()
    for begin in {index[month] // length * length for month in
                  {add_months(changed, step) for changed in months for step in range(reach + 1)} if month in index}:
        held.update(accruing[begin:begin + length])
    return frozenset(held)


def months_read_in_part(terms: AgreementTerms, months: Collection[date], *,
                        as_of: date) -> tuple[date, date] | None:
    """The first and last month whose purchases `calculate` reads recomputing `months` in part (the months it
    is given as `changed_months`): the settlement periods that hold one or a month it decides
    (`periods_holding`) and, for a kind whose month counts by the months before it (`reach`), that many months
    before them; None when no accruing period holds one (nothing to recompute). Every month outside it may be
    left out of `lines` without changing the result."""
    held = periods_holding(terms, months, as_of=as_of)
    if not held:
        return None
    return add_months(min(held), -terms.rule.kind_class.reach(terms.rule)), max(held)


def calculate_decimal(terms: AgreementTerms, lines: Iterable[PurchaseLine], **options) -> tuple[MonthResult, ...]:
    """`calculate` with every figure in Decimals: the reference for the integer maths (same arguments)."""
    return calculate(terms, lines, integers=False, **options)


def _settlement_period(
    terms: AgreementTerms,
    first: date,
    months: Iterable[date],
    bought: Mapping[date, MonthTotal],
    last_year: Mapping[date, MonthTotal],
    launches: Mapping[str, Mapping[date, MonthTotal]],
    recompute_from: date,
    cleared: Mapping[date, Decimal],
    by_line: Mapping[date, Mapping[str, Decimal]],
    referred: Mapping[date, Decimal],
) -> Iterator[MonthResult]:
    """The period's months from `recompute_from` on; the months before it only add up its volume."""
    rule = terms.rule
    kind = rule.kind_class
    committed = terms.committed_monthly_quantity
    before = _NOTHING_YET
    launched = dict.fromkeys(launches, ZERO)
    volume = before.volume
    for month in months:
        if month == recompute_from and month != first:
            # Where the months before left the period: what they earned follows from their volume.
            before = _standing(rule, volume, bonus_percent(rule.bonuses, launched) if launches else ZERO)
        total = bought.get(month, NOTHING_BOUGHT)
        shortfall = is_shortfall(total.quantity, committed)
        counts = not (shortfall and rule.commitment_rule) and (
            not kind.conditional_months or kind.month_counts(rule, bought, month, terms.start_month))
        for product, per_month in launches.items():
            launched[product] += per_month.get(month, NOTHING_BOUGHT).quantity
        if month < recompute_from:
            if counts:
                volume = volume.plus(total, last_year.get(month, NOTHING_BOUGHT), cleared.get(month, ZERO),
                                     by_line.get(month), referred.get(month, ZERO))
            continue
        volume = (before.volume.plus(total, last_year.get(month, NOTHING_BOUGHT), cleared.get(month, ZERO),
                                     by_line.get(month), referred.get(month, ZERO)) if counts else before.volume)
        extra = bonus_percent(rule.bonuses, launched) if launches else ZERO
        now = _standing(rule, volume, extra)

        rule_amount = now.earned - before.earned
        catch_up = _catch_up(rule, before, now)
        bonus = now.bonus - before.bonus
        earning = _earning(rule, before, now, counts)
        rate = rule.kind_class.rate_in_force(rule, volume) if earning else ZERO
        bonus_rate = extra if earning else ZERO
        price = total.amount / total.quantity if total.quantity else None
        yield MonthResult(
            month=month,
            period_start=first,
            quantity=total.quantity,
            eligible_amount=total.amount,
            # Every term is already whole cents; quantizing again only gives each one the same two places.
            accrual=quantize_money(rule_amount - catch_up),
            catch_up=quantize_money(catch_up),
            bonus=quantize_money(bonus),
            amount=quantize_money(rule_amount + bonus),
            cumulative=quantize_money(now.total),
            rate=rate,
            bonus_rate=bonus_rate,
            rebate_per_unit=_money_per_unit(rule, rate, bonus_rate, price),
            shortfall=shortfall,
        )
        before = now


def _earning(rule: RebateRule, before: _Standing, now: _Standing, counts: bool) -> bool:
    """Whether a month's rate is in force: the month counts, the period has reached its minimum (and the kind's
    condition) and had not reached the cap before it (nothing more is earned once it had)."""
    return counts and now.reached and not (rule.cap is not None and before.total >= rule.cap)


def month_on_top(rule: RebateRule, volume: Volume, bought: MonthTotal,
                 last_year: MonthTotal = NOTHING_BOUGHT) -> tuple[Decimal, Decimal, Decimal]:
    """`calculate`'s month buying `bought` (its month of last year `last_year`) after the months of its
    settlement period that stand at `volume`, for a rule whose standing follows from its volume alone (no
    commitment rule, no conditional kind) and no launch bonus: (the period's cumulative after it, the part of
    the month that restates earlier months, the rate in force). The same steps as a month of
    `_settlement_period`, without the months before it."""
    before = _standing(rule, volume, ZERO)
    now = _standing(rule, volume.plus(bought, last_year), ZERO)
    rate = rule.kind_class.rate_in_force(rule, now.volume) if _earning(rule, before, now, True) else ZERO
    return quantize_money(now.total), quantize_money(_catch_up(rule, before, now)), rate


def _standing(rule: RebateRule, volume: Volume, extra_percent: Decimal) -> _Standing:
    """The period's earnings on `volume`: nothing below the minimum; the rule first, then the bonus,
    both within the cap."""
    kind = rule.kind_class
    reached = ((rule.minimum is None or kind.minimum_volume(rule, volume) >= rule.minimum)
               and (not kind.period_condition or kind.qualifies(rule, volume)))
    if not reached:
        return _Standing(volume, False, ZERO, ZERO)
    from_rule = quantize_money(kind.earned(rule, volume))
    # No bonus in force (most periods): nothing to compute, the same 0.00 the rounding would give.
    bonus = quantize_money(percent_of(extra_percent, max(ZERO, volume.amount))) if extra_percent else ZERO_MONEY
    if rule.cap is not None:
        from_rule = min(from_rule, rule.cap)
        bonus = min(bonus, rule.cap - from_rule)
    return _Standing(volume, True, from_rule, bonus)


def period_earned(rule: RebateRule, volume: Volume) -> Decimal:
    """What a settlement period has earned on its `volume` to date (rounded, within the cap), bonuses aside:
    the cumulative `calculate` books for it when no launch bonus and no commitment rule applies."""
    return _standing(rule, volume, ZERO).total


def _catch_up(rule: RebateRule, before: _Standing, now: _Standing) -> Decimal:
    """The part of this month's rule earnings that restates earlier months: their volume at today's rate
    (or from nothing, when the minimum was just reached) less what they had booked. It stays between 0 and
    the month's rule amount, so a month trimmed by the cap books the trim as accrual."""
    kind = rule.kind_class
    if not kind.restates_earlier_months and rule.minimum is None:
        # One rate all period and nothing to reach: earlier months are never restated.
        return ZERO
    restated = (quantize_money(kind.earned(rule, before.volume, kind.rate_at(rule, now.volume))) if now.reached
                else ZERO)
    month_amount = now.earned - before.earned
    low, high = min(ZERO, month_amount), max(ZERO, month_amount)
    return min(max(restated - before.earned, low), high)


def _money_per_unit(
    rule: RebateRule, rate: Decimal, bonus_rate: Decimal, unit_price: Decimal | None
) -> Decimal | None:
    fixed = rate if rule.rate_unit is RateType.PER_UNIT else ZERO
    percent = bonus_rate + (rate if rule.rate_unit is RateType.PERCENT else ZERO)
    if percent == 0:
        return quantize_unit_price(fixed)
    if unit_price is None:
        return None
    return quantize_unit_price(fixed + percent_of(percent, unit_price))


def rebate_per_unit(
    terms: AgreementTerms, results: tuple[MonthResult, ...], *, unit_price: Decimal
) -> Decimal:
    """Money per unit the agreement earns at the customer's current volume, priced at `unit_price` (the
    contract net price): the rates in force in the latest month of `results` (from `calculate`), bonus
    included, rounded to 4 places. 0 when nothing has accrued yet. Net-net price = unit_price - this."""
    if not results:
        return ZERO
    latest = results[-1]
    return _money_per_unit(terms.rule, latest.rate, latest.bonus_rate, unit_price)
