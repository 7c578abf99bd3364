"""An agreement's terms as frozen values: the term, the settlement frequency, the rule and its bonuses.

Field names follow the Django models; strings are accepted wherever an enum is expected ("tiered"),
and "" means "not set" as it does in the models' blank choice fields.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .choices import Baseline, RateType, TierBasis, TierMethod
from .kinds import Kind, RuleKind, rule_kind
from .money import as_decimal, quantize_money
from .periods import SettlementFrequency, month_of, require_month
from .tiers import Band

__all__ = ["AgreementTerms", "Band", "Baseline", "LaunchBonus", "RateType", "RebateRule", "RuleKind", "TierBasis",
           "TierMethod"]


def _set(obj, name, value):
    object.__setattr__(obj, name, value)


def _optional_decimal(obj, name):
    value = getattr(obj, name)
    if value is not None:
        _set(obj, name, as_decimal(name, value))
        if getattr(obj, name) < 0:
            raise ValueError(f"{name} must not be negative, got {value}")


def _optional_choice(obj, name, choices):
    value = getattr(obj, name)
    _set(obj, name, None if value in (None, "") else choices(value))


@dataclass(frozen=True)
class LaunchBonus:
    """Extra `extra_percent` % on the whole scope's eligible amount in a settlement period in which the
    customer bought at least `minimum_quantity` units of `product` (a SKU, as in PurchaseLine.product)."""

    product: str
    minimum_quantity: Decimal
    extra_percent: Decimal

    def __post_init__(self):
        _set(self, "minimum_quantity", as_decimal("minimum_quantity", self.minimum_quantity))
        _set(self, "extra_percent", as_decimal("extra_percent", self.extra_percent))
        if self.extra_percent < 0:
            raise ValueError(f"extra_percent must not be negative, got {self.extra_percent}")


@dataclass(frozen=True)
class RebateRule:
    """The agreement's one rule.

    `rate` is money per unit (kind per_unit) or a percent, 2 meaning 2 % (kinds percent and growth);
    tiered rules carry their rates on `bands`, in the unit `rate_type` names. `minimum` is period-to-date
    volume (units for per_unit and quantity-based tiers, money otherwise); `cap` is money per settlement
    period; `baseline_amount` is the stated baseline per settlement period. With `commitment_rule` a month
    below the agreement's committed quantity earns nothing. A conditional rule earns in a month bought in
    `active_months` of the last `active_window` months. A clearance rule earns `clearance_rate` percent more
    on the products bought in their clearance window. A product mix rule earns in a period spanning
    `min_product_lines` product lines and/or with `focus_share` percent in its `focus_line` (a product line's
    id as text, as the `product` of the mix lines `calculate` is given).
    """

    kind: RuleKind
    rate: Decimal | None = None
    rate_type: RateType = RateType.PER_UNIT
    bands: tuple[Band, ...] = ()
    tier_basis: TierBasis | None = None
    tier_method: TierMethod | None = None
    baseline: Baseline | None = None
    baseline_amount: Decimal | None = None
    minimum: Decimal | None = None
    cap: Decimal | None = None
    commitment_rule: bool = False
    bonuses: tuple[LaunchBonus, ...] = ()
    active_months: int | None = None
    active_window: int | None = None
    clearance_rate: Decimal | None = None
    min_product_lines: int | None = None
    focus_line: str | None = None
    focus_share: Decimal | None = None

    def __post_init__(self):
        kind = rule_kind(self.kind)
        _set(self, "kind", RuleKind(kind.code))
        _set(self, "_kind_class", kind)
        _set(self, "rate_type", RateType(self.rate_type))
        _optional_choice(self, "tier_basis", TierBasis)
        _optional_choice(self, "tier_method", TierMethod)
        _optional_choice(self, "baseline", Baseline)
        for name in ("rate", "baseline_amount", "minimum", "cap", "clearance_rate", "focus_share"):
            _optional_decimal(self, name)
        _set(self, "bonuses", tuple(self.bonuses))
        if self.focus_line is not None:
            _set(self, "focus_line", str(self.focus_line))
        for name in ("active_months", "active_window", "min_product_lines"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{name} must be a whole number of months, got {value!r}")
        if self.cap is not None and self.cap != quantize_money(self.cap):
            raise ValueError(f"cap must be whole cents, got {self.cap}")
        kind.check(self)
        # Read for every month of every agreement: worked out once here.
        _set(self, "_rate_unit", kind.rate_unit(self))
        if self.uses_baseline:
            if self.baseline is None:
                raise ValueError(f"this {self.kind} rule is measured against a baseline: last_year or stated")
            if self.baseline is Baseline.STATED and self.baseline_amount is None:
                raise ValueError("a stated baseline needs a baseline_amount")

    @property
    def kind_class(self) -> type[Kind]:
        """The rule's kind (rebates/engine/kinds.py): what the rule earns and how it reads in words."""
        return self._kind_class

    @property
    def rate_unit(self) -> RateType:
        """What a rate means for this rule: money per unit, or a percent of the eligible amount."""
        return self._rate_unit

    @property
    def uses_baseline(self) -> bool:
        """Whether the rule compares the period with a baseline (growth, on growth, % of baseline)."""
        return self._kind_class.uses_baseline(self)


@dataclass(frozen=True)
class AgreementTerms:
    """The term runs from `start_month` to `end_month`, both included (first-of-month dates).

    Settlement periods are cut from `start_month` every 1, 3 or 12 months. When `terminated_on` is set,
    the month it falls in is the last month that accrues. `committed_monthly_quantity` marks shortfall months.
    """

    start_month: date
    end_month: date
    rule: RebateRule
    settlement_frequency: SettlementFrequency = SettlementFrequency.ANNUAL
    committed_monthly_quantity: Decimal | None = None
    terminated_on: date | None = None

    def __post_init__(self):
        require_month("start_month", self.start_month)
        require_month("end_month", self.end_month)
        if self.end_month < self.start_month:
            raise ValueError(f"the term ends ({self.end_month}) before it starts ({self.start_month})")
        if not isinstance(self.rule, RebateRule):
            raise TypeError(f"rule must be a RebateRule, got {type(self.rule).__name__}")
        _set(self, "settlement_frequency", SettlementFrequency(self.settlement_frequency))
        _optional_decimal(self, "committed_monthly_quantity")

    @property
    def last_month(self) -> date:
        """The last month that can accrue: the end of the term, or the termination month if earlier."""
        if self.terminated_on is None:
            return self.end_month
        return min(self.end_month, month_of(self.terminated_on))
