"""Writes of market signals, one function per use case, each in one transaction with its audit row.

- claims.py: `price_claim_record`, `price_claim_dismiss`;
- decisions.py: `market_signal_decide` (match or hold), `market_signal_acknowledge`, `market_signal_close`;
- sweep.py: `signals_detect` (the nightly sweep) and `price_claim_check` (one new claim): detection over the
  stored claims, decided by the pure pricing_signals.detection, its results written back;
- rules.py: `detection_rule_create`, `detection_rule_update` (the admin's detection rules);
- recovery.py: `waiting_work_requeue`, the sweeper's.
"""

from pricing_signals.services.claims import PriceClaimInvalid, price_claim_dismiss, price_claim_record
from pricing_signals.services.decisions import (
    MarketSignalConflict,
    market_signal_acknowledge,
    market_signal_close,
    market_signal_decide,
)
from pricing_signals.services.recovery import waiting_work_requeue
from pricing_signals.services.rules import detection_rule_create, detection_rule_update
from pricing_signals.services.sweep import (
    DetectionResult,
    detection_lock,
    price_claim_check,
    signals_detect,
    signals_detect_rebuilding_indexes,
)

__all__ = [
    "DetectionResult",
    "MarketSignalConflict",
    "PriceClaimInvalid",
    "detection_lock",
    "detection_rule_create",
    "detection_rule_update",
    "market_signal_acknowledge",
    "market_signal_close",
    "market_signal_decide",
    "price_claim_check",
    "price_claim_dismiss",
    "price_claim_record",
    "signals_detect",
    "signals_detect_rebuilding_indexes",
    "waiting_work_requeue",
]
