"""Pure rebate maths: frozen dataclasses in, Decimals out. No Django, no database, no clock.

results = calculate(terms, lines, as_of=date(2026, 5, 31))
per_unit = rebate_per_unit(terms, results, unit_price=Decimal("12.10"))
"""

from .calculate import (
    accrual_months,
    calculate,
    months_in_part,
    months_read_in_part,
    periods_holding,
    rebate_per_unit,
)
from .kinds import RULE_KINDS, Kind, rule_kind
from .lines import PurchaseLine
from .money import quantize_money
from .periods import SettlementFrequency, period_start
from .results import MonthResult
from .terms import (
    AgreementTerms,
    Baseline,
    LaunchBonus,
    RateType,
    RebateRule,
    RuleKind,
    TierBasis,
    TierMethod,
)
from .tiers import Band

__all__ = [
    "RULE_KINDS",
    "AgreementTerms",
    "Band",
    "Baseline",
    "Kind",
    "LaunchBonus",
    "MonthResult",
    "PurchaseLine",
    "RateType",
    "RebateRule",
    "RuleKind",
    "SettlementFrequency",
    "TierBasis",
    "TierMethod",
    "accrual_months",
    "calculate",
    "months_in_part",
    "months_read_in_part",
    "period_start",
    "periods_holding",
    "quantize_money",
    "rebate_per_unit",
    "rule_kind",
]
