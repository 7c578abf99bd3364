"""The rule kinds: one class per kind, each saying what a rule of its kind earns and how it reads in words.

A kind answers, for a rule and a settlement period's volume to date (`Volume`): what it earns, the rate it
has reached, the rate a further unit or dollar earns, the volume its minimum is measured on; and, once,
whether a newly reached rate restates the period's earlier months (a catch-up), whether it is measured
against a baseline, and which settings it cannot do without (`requires`, plain data the model turns into
its database checks). The generic maths (periods, minimum, cap, bonus, catch-up) is in calculate.py and
asks the rule's kind through these methods.

`RULE_KINDS` maps each code ("per_unit") to its class; every subclass of `Kind` with a code is in it, in
the order defined. The model's choices come from it. A new kind is a new class here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar, NamedTuple

from .choices import Baseline, RateType, TierBasis, TierMethod
from .money import HUNDRED, ZERO, percent_of
from .periods import add_months
from .rules import Volume, apply_rate, basis_value, earning_base, growth
from .tiers import band_rate, incremental_total, validate_bands
from .words import money, plain, rate_in_words

if TYPE_CHECKING:
    from .terms import RebateRule


class Requirement(NamedTuple):
    """Settings a kind cannot do without, checked together by one database constraint named `name`: each
    of `chosen` is set (a choice, not blank) and each of `amounts` is given, zero or more."""

    name: str
    chosen: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return self.chosen + self.amounts


# Shared by the kinds that need them. The names are the database constraints' (config/constraints.py
# words them); kinds that share a requirement share its constraint.
RATE = Requirement("rule_flat_kinds_have_rate", amounts=("rate",))
TIER_SETTINGS = Requirement("rule_tiered_has_basis_and_method", chosen=("tier_basis", "tier_method"))
BASELINE = Requirement("rule_growth_has_baseline", chosen=("baseline",))
CLEARANCE_RATE = Requirement("rule_clearance_has_clearance_rate", amounts=("clearance_rate",))
ACTIVE_MONTHS = Requirement("rule_conditional_has_active_months", amounts=("active_months", "active_window"))
# The longest look-back a conditional rule may have, in months.
LONGEST_WINDOW = 12

RULE_KINDS: dict[str, type[Kind]] = {}


class Kind:
    """What every kind answers; a subclass sets `code`, `name` and `requires` and overrides what differs.

    By default a rule earns its one `rate` on the period's eligible net amount (a percent), its minimum is
    measured in money, it has no tiers and no baseline, and only reaching the minimum restates earlier months.
    """

    code: ClassVar[str]
    name: ClassVar[str]  # the kind as the pages and the admin list it
    requires: ClassVar[tuple[Requirement, ...]] = ()
    banded: ClassVar[bool] = False  # whether the rule's rates are on tier bands
    # Whether a newly reached rate restates the period's earlier months, booked as a catch-up.
    restates_earlier_months: ClassVar[bool] = False
    # Whether a month earns only on a condition over the months bought in (`month_counts`, and
    # `counting_months` for the integer maths).
    conditional_months: ClassVar[bool] = False
    # Whether the rule earns on the clearance amount too (`Volume.clearance_amount`, from the clearance lines
    # calculate is given): its second measure (`percents`).
    reads_clearance: ClassVar[bool] = False
    # Whether a settlement period earns only once its volume to date meets a condition (`qualifies`, on the
    # amounts per product line of the mix lines calculate is given), as it earns only once it reaches its
    # minimum: reaching it restates the period's earlier months.
    period_condition: ClassVar[bool] = False
    # Whether the rule earns on its referred customers' purchases (`Volume.referral_amount`, from the referral
    # lines calculate is given) rather than the agreement's own: its second measure (`percents`).
    reads_referral: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "code" in cls.__dict__:
            RULE_KINDS[cls.code] = cls

    @classmethod
    def check(cls, rule: RebateRule) -> None:
        """Refuse (ValueError) a rule missing a setting its kind requires. Tier settings mean nothing to a
        kind without bands: they are cleared, so the maths never reads them."""
        if not cls.banded:
            object.__setattr__(rule, "bands", ())
            object.__setattr__(rule, "tier_basis", None)
            object.__setattr__(rule, "tier_method", None)
        if not cls.conditional_months:
            object.__setattr__(rule, "active_months", None)
            object.__setattr__(rule, "active_window", None)
        if not cls.reads_clearance:
            object.__setattr__(rule, "clearance_rate", None)
        if not cls.period_condition:
            for name in ("min_product_lines", "focus_line", "focus_share"):
                object.__setattr__(rule, name, None)
        for requirement in cls.requires:
            if any(getattr(rule, field) is None for field in requirement.fields):
                raise ValueError(f"a {cls.code} rule needs a {' and a '.join(requirement.fields)}")

    @staticmethod
    def rate_unit(rule: RebateRule) -> RateType:
        """What the rule's rates mean: money per unit, or a percent of the eligible amount."""
        return RateType.PERCENT

    @staticmethod
    def month_counts(rule: RebateRule, bought: Mapping[date, object], month: date, start_month: date) -> bool:
        """Whether `month`'s purchases count (and earn); `bought` is the term's net totals by month (each with
        an `amount`) and `start_month` the term's first month. Every month counts by default."""
        return True

    @staticmethod
    def qualifies(rule: RebateRule, volume: Volume) -> bool:
        """Whether the period's volume to date meets the kind's condition (kinds with `period_condition`)."""
        return True

    @staticmethod
    def counting_months(rule: RebateRule, bought_in: Sequence[bool]) -> tuple[bool, ...] | None:
        """`month_counts` for the term's months at once, from whether each (in order from the term's first) was
        bought in (its net amount above zero): whether each counts; None when every month counts. The integer
        maths (exact.py) asks this."""
        return None

    @staticmethod
    def reach(rule: RebateRule) -> int:
        """How many later months a month's purchases decide whether they count: a change to a month's
        purchases can change the results of that month and of this many after it (their settlement
        periods included)."""
        return 0

    @staticmethod
    def measures_growth(rule: RebateRule) -> bool:
        """Whether the rule earns on the part of the volume above its baseline only."""
        return False

    @staticmethod
    def percents(rule: RebateRule) -> tuple[Decimal, Decimal] | None:
        """For the integer maths (exact.py), a kind earning percents without bands or baseline: the percent
        its `earned` takes of the eligible amount and the percent it takes of its second measure (the
        clearance amount, the referred customers' amount), the sum never below 0. None for the kinds whose
        maths exact.py knows by their rate unit, bands and baseline."""
        return None

    @classmethod
    def uses_baseline(cls, rule: RebateRule) -> bool:
        """Whether the rule compares the period with a baseline (and so needs one)."""
        return cls.measures_growth(rule)

    @staticmethod
    def minimum_volume(rule: RebateRule, volume: Volume) -> Decimal:
        """The volume the minimum is measured on."""
        return volume.amount

    @staticmethod
    def rate_at(rule: RebateRule, volume: Volume) -> Decimal:
        """The rate the volume to date has reached."""
        return rule.rate

    @classmethod
    def rate_in_force(cls, rule: RebateRule, volume: Volume) -> Decimal:
        """The rate a further unit or dollar earns now; 0 for a growth measure while there is no growth."""
        if cls.measures_growth(rule) and growth(rule, volume) == 0:
            return ZERO
        return cls.rate_at(rule, volume)

    @classmethod
    def earned(cls, rule: RebateRule, volume: Volume, rate: Decimal | None = None) -> Decimal:
        """What the volume to date earns, ignoring minimum and cap, never below 0. Unrounded money.

        `rate` overrides the rate reached (calculate.py restates earlier months at a newly reached rate)."""
        rate = cls.rate_at(rule, volume) if rate is None else rate
        if cls.measures_growth(rule):
            return apply_rate(rule, rate, growth(rule, volume))
        return max(ZERO, apply_rate(rule, rate, earning_base(rule, volume)))

    @classmethod
    def description(cls, rule, currency=None) -> str:
        """What the rule earns, in a clerk's words ("$0.25 a unit"; "€0.25 a unit" with `currency` EUR: amounts
        in the agreement's currency, the default when none is given). `rule` is the engine's RebateRule or
        anything with its fields (the model's rule, its bands as a sequence)."""
        raise NotImplementedError

    @classmethod
    def terms(cls, rule, paid: str, currency=None) -> str:
        """The agreement's first sentence: what the rule earns and when it is paid ("paid annually")."""
        return f"{cls.description(rule, currency)}, {paid}."


class PerUnitKind(Kind):
    """A fixed amount of money per unit bought; the minimum is in units."""

    code = "per_unit"
    name = "Per unit"
    requires = (RATE,)

    @staticmethod
    def rate_unit(rule: RebateRule) -> RateType:
        return RateType.PER_UNIT

    @staticmethod
    def minimum_volume(rule: RebateRule, volume: Volume) -> Decimal:
        return volume.quantity

    @classmethod
    def description(cls, rule, currency=None) -> str:
        return rate_in_words(RateType.PER_UNIT, rule.rate, currency)


class PercentKind(Kind):
    """A percent of the eligible net purchase amount."""

    code = "percent"
    name = "Percent of net amount"
    requires = (RATE,)

    @classmethod
    def description(cls, rule, currency=None) -> str:
        return f"{plain(rule.rate)}% of eligible net purchases"


_BASIS_WORDS = {TierBasis.QUANTITY: "period-to-date quantity", TierBasis.AMOUNT: "period-to-date amount",
                TierBasis.PERCENT_OF_BASELINE: "amount as % of baseline"}
_METHOD_WORDS = {TierMethod.RETROACTIVE: "retroactive", TierMethod.RETROACTIVE_ON_GROWTH: "retroactive on growth",
                 TierMethod.INCREMENTAL: "incremental"}


class TieredKind(Kind):
    """Bands on the period-to-date quantity, amount, or amount as a percent of the baseline, each with a rate
    per unit or a percent. Retroactive: the band reached pays on everything since the period began (the
    difference is a catch-up in the month of crossing); retroactive on growth: on the part above the
    baseline only; incremental: each band's share at its own rate."""

    code = "tiered"
    name = "Tiered"
    requires = (TIER_SETTINGS,)
    banded = True
    restates_earlier_months = True

    @classmethod
    def check(cls, rule: RebateRule) -> None:
        object.__setattr__(rule, "bands", validate_bands(rule.bands))
        super().check(rule)

    @staticmethod
    def rate_unit(rule: RebateRule) -> RateType:
        return rule.rate_type

    @staticmethod
    def measures_growth(rule: RebateRule) -> bool:
        return rule.tier_method is TierMethod.RETROACTIVE_ON_GROWTH

    @classmethod
    def uses_baseline(cls, rule: RebateRule) -> bool:
        return cls.measures_growth(rule) or rule.tier_basis is TierBasis.PERCENT_OF_BASELINE

    @staticmethod
    def minimum_volume(rule: RebateRule, volume: Volume) -> Decimal:
        return volume.quantity if rule.tier_basis is TierBasis.QUANTITY else volume.amount

    @staticmethod
    def rate_at(rule: RebateRule, volume: Volume) -> Decimal:
        return band_rate(rule.bands, basis_value(rule, volume))

    @classmethod
    def earned(cls, rule: RebateRule, volume: Volume, rate: Decimal | None = None) -> Decimal:
        """Incremental tiers always pay each band's share at the band's own rate (`rate` is not used)."""
        if rule.tier_method is TierMethod.INCREMENTAL:
            return max(ZERO, cls._incremental(rule, volume))
        return super().earned(rule, volume, rate)

    @staticmethod
    def _incremental(rule: RebateRule, volume: Volume) -> Decimal:
        value = basis_value(rule, volume)
        banded = apply_rate(rule, Decimal(1), incremental_total(rule.bands, value))
        measured_in_base = (rule.tier_basis, rule.rate_unit) in (
            (TierBasis.QUANTITY, RateType.PER_UNIT),
            (TierBasis.AMOUNT, RateType.PERCENT),
        )
        if measured_in_base:
            return banded
        # Bands read on another measure: each band's share of it carries the same share of the base
        # (400 units in bands, at $10 a unit, are $4,000 of amount).
        return banded * earning_base(rule, volume) / value if value > 0 else ZERO

    @staticmethod
    def _threshold(basis, threshold, currency=None) -> str:
        if basis == TierBasis.AMOUNT:
            return money(threshold, 0 if Decimal(threshold) == Decimal(threshold).to_integral() else 2, currency)
        if basis == TierBasis.PERCENT_OF_BASELINE:
            return f"{plain(threshold)}% of the baseline"
        return f"{plain(threshold)} units"

    @classmethod
    def description(cls, rule, currency=None) -> str:
        bands = list(rule.bands)
        parts = []
        for index, band in enumerate(bands):
            rate = rate_in_words(rule.rate_type, band.rate, currency)
            if index == 0 and not band.threshold and len(bands) > 1:
                parts.append(f"below {cls._threshold(rule.tier_basis, bands[1].threshold, currency)} {rate}")
            else:
                parts.append(f"from {cls._threshold(rule.tier_basis, band.threshold, currency)} {rate}")
        basis = _BASIS_WORDS.get(rule.tier_basis, str(rule.tier_basis))
        method = _METHOD_WORDS.get(rule.tier_method, str(rule.tier_method))
        return f"Tiered on {basis} ({method}): {'; '.join(parts)}"

    @classmethod
    def terms(cls, rule, paid: str, currency=None) -> str:
        return f"{cls.description(rule, currency)}; {paid}."  # the description ends in a list of bands


class GrowthKind(Kind):
    """A percent of the purchases above a baseline: the same period of the previous year, or a stated amount."""

    code = "growth"
    name = "Growth over a baseline"
    requires = (RATE, BASELINE)

    @staticmethod
    def measures_growth(rule: RebateRule) -> bool:
        return True

    @classmethod
    def description(cls, rule, currency=None) -> str:
        base = ("the same period last year" if rule.baseline == Baseline.LAST_YEAR
                else f"{money(rule.baseline_amount, 2, currency)} a settlement period")
        return f"{plain(rule.rate)}% of purchases above {base}"


class ConditionalKind(Kind):
    """A percent of the eligible net purchases of a month in which the customer has bought in at least
    `active_months` of the last `active_window` months of the term, that month included. Any other month is
    left out of the period's volume, as a month below a commitment is: it earns nothing, then or later.
    A month was bought in when its net amount in scope is above zero; months before the term do not count."""

    code = "condition"
    name = "Conditional on months bought"
    requires = (RATE, ACTIVE_MONTHS)
    conditional_months = True

    @classmethod
    def check(cls, rule: RebateRule) -> None:
        super().check(rule)
        needed, window = rule.active_months, rule.active_window
        if not 1 <= needed <= window <= LONGEST_WINDOW:
            raise ValueError(f"a {cls.code} rule needs 1 <= active_months <= active_window <= {LONGEST_WINDOW}, "
                             f"got {needed} of {window}")

    @staticmethod
    def month_counts(rule: RebateRule, bought: Mapping[date, object], month: date, start_month: date) -> bool:
        active = 0
        for back in range(rule.active_window):
            earlier = add_months(month, -back)
            if earlier < start_month:
                break
            total = bought.get(earlier)
            if total is not None and total.amount > 0:
                active += 1
        return active >= rule.active_months

    @staticmethod
    def counting_months(rule: RebateRule, bought_in: Sequence[bool]) -> tuple[bool, ...] | None:
        window, needed = rule.active_window, rule.active_months
        counting = []
        active = 0  # months bought in among the last `window`, this one included
        for index, bought in enumerate(bought_in):
            active += bought
            if index >= window:
                active -= bought_in[index - window]
            counting.append(active >= needed)
        return tuple(counting)

    @staticmethod
    def reach(rule: RebateRule) -> int:
        return rule.active_window - 1

    @classmethod
    def description(cls, rule, currency=None) -> str:
        return (f"{plain(rule.rate)}% of eligible net purchases in a month when the customer has bought in at "
                f"least {rule.active_months} of the last {rule.active_window} months, that month included")


class ClearanceKind(Kind):
    """A percent of the eligible net purchases, and `clearance_rate` percent more on the net amount of products
    bought while on clearance: in a month within the product's clearance window. Minimum, cap and bonuses
    work as for any kind; the minimum is measured on the whole eligible amount."""

    code = "clearance"
    name = "Clearance"
    requires = (RATE, CLEARANCE_RATE)
    reads_clearance = True

    @classmethod
    def earned(cls, rule: RebateRule, volume: Volume, rate: Decimal | None = None) -> Decimal:
        rate = cls.rate_at(rule, volume) if rate is None else rate
        return max(ZERO, percent_of(rate, volume.amount) + percent_of(rule.clearance_rate, volume.clearance_amount))

    @staticmethod
    def percents(rule: RebateRule) -> tuple[Decimal, Decimal] | None:
        return rule.rate, rule.clearance_rate

    @classmethod
    def description(cls, rule, currency=None) -> str:
        return (f"{plain(rule.rate)}% of eligible net purchases, and {plain(rule.clearance_rate)}% more on products "
                f"bought in their clearance window")


class ProductMixKind(Kind):
    """A percent of the eligible net purchases, earned only in a settlement period whose purchases to date
    span at least `min_product_lines` product lines (each with a net amount above zero), and/or in which the
    focus product line (`focus_line`) is at least `focus_share` percent of the eligible amount; every condition
    set must hold. Until then the period earns nothing; once it holds, the earlier months are restated as a
    catch-up (as when a minimum is reached), and it can stop holding again (a credit note)."""

    code = "mix"
    name = "Product mix"
    requires = (RATE,)
    period_condition = True
    restates_earlier_months = True

    @classmethod
    def check(cls, rule: RebateRule) -> None:
        super().check(rule)
        if rule.min_product_lines is None and rule.focus_share is None:
            raise ValueError(f"a {cls.code} rule needs a min_product_lines or a focus_share")
        if (rule.focus_share is None) != (rule.focus_line is None):
            raise ValueError("a focus_share needs its focus_line, and a focus_line its focus_share")
        if rule.min_product_lines is not None and rule.min_product_lines < 1:
            raise ValueError(f"min_product_lines must be 1 or more, got {rule.min_product_lines}")

    @classmethod
    def qualifies(cls, rule: RebateRule, volume: Volume) -> bool:
        return cls.qualifies_on(rule, dict(volume.line_amounts), volume.amount, rule.focus_share, HUNDRED)

    @staticmethod
    def qualifies_on(rule: RebateRule, line_amounts: Mapping[str, Decimal | int], amount: Decimal | int,
                     focus_share: Decimal | int | None, whole: Decimal | int) -> bool:
        """`qualifies` on the amounts to date per product line and in all, with `focus_share` in the unit in
        which `whole` is 100 %: the Decimals, or the integer maths's cents and ten-thousandths."""
        if rule.min_product_lines is not None:
            if sum(1 for amount in line_amounts.values() if amount > 0) < rule.min_product_lines:
                return False
        if focus_share is not None:
            if amount <= 0 or line_amounts.get(rule.focus_line, 0) * whole < focus_share * amount:
                return False
        return True

    @classmethod
    def description(cls, rule, currency=None) -> str:
        conditions = []
        if rule.min_product_lines is not None:
            conditions.append(f"purchases from at least {rule.min_product_lines} product lines")
        if rule.focus_share is not None:
            focus = getattr(rule.focus_line, "code", rule.focus_line)
            conditions.append(f"at least {plain(rule.focus_share)}% of them in product line {focus}")
        return f"{plain(rule.rate)}% of eligible net purchases in a settlement period with {' and '.join(conditions)}"


class ReferralKind(Kind):
    """A percent of the net purchases of the customers the agreement's customer referred, of products in the
    agreement's scope, in each referred customer's referral months (`Customer.referral_from` and the
    `referral_months` after it, stated on the referred customer's record). The agreement's own purchases earn
    nothing; the minimum is measured on the referred purchases."""

    code = "referral"
    name = "Referral"
    requires = (RATE,)
    reads_referral = True

    @staticmethod
    def minimum_volume(rule: RebateRule, volume: Volume) -> Decimal:
        return volume.referral_amount

    @classmethod
    def earned(cls, rule: RebateRule, volume: Volume, rate: Decimal | None = None) -> Decimal:
        rate = cls.rate_at(rule, volume) if rate is None else rate
        return max(ZERO, percent_of(rate, volume.referral_amount))

    @staticmethod
    def percents(rule: RebateRule) -> tuple[Decimal, Decimal] | None:
        return ZERO, rule.rate

    @classmethod
    def description(cls, rule, currency=None) -> str:
        return (f"{plain(rule.rate)}% of the net purchases of referred customers in their first months, as each "
                f"referred customer's record states")


def rule_kind(code) -> type[Kind]:
    """The class of the kind named `code` ("tiered"); ValueError for a code that names no kind."""
    try:
        return RULE_KINDS[code]
    except KeyError:
        raise ValueError(f"{code!r} is not a rule kind: one of {', '.join(RULE_KINDS)}") from None


# The kinds' codes as an enum, for values that must be a kind: RuleKind("tiered") is RuleKind.TIERED.
RuleKind = StrEnum("RuleKind", [(code.upper(), code) for code in RULE_KINDS])
