"""Value and risk, pure: no Django model, no database. Facts in (frozen dataclasses), tiers and scores out.

Value tier: a Pareto class of the last 12 months' net purchases. Customers are ranked by that amount; A are
the customers making the first `a_share` of the total (the customer that crosses the line included), B the
next ones up to `b_share`, C the rest and every customer who bought nothing (or returned more than bought).

Risk: points from explainable factors, each with its contribution in words; the level follows the total.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rebates.engine.words import money

A, B, C = "A", "B", "C"
LOW, MEDIUM, HIGH = "low", "medium", "high"
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def value_tiers(net_purchases: Mapping[int, Decimal], *, a_share: Decimal, b_share: Decimal) -> dict[int, str]:
    """Each customer's tier from its last 12 months' net purchases (ties ranked by id, so the answer does not
    depend on the order the mapping was read in)."""
    total = sum((amount for amount in net_purchases.values() if amount > 0), ZERO)
    tiers = {}
    before = ZERO  # what the customers ranked higher bought
    for customer_id, amount in sorted(net_purchases.items(), key=lambda item: (-item[1], item[0])):
        if amount <= 0 or total <= 0:
            tiers[customer_id] = C
            continue
        share_before = before / total
        tiers[customer_id] = A if share_before < a_share else B if share_before < b_share else C
        before += amount
    return tiers


@dataclass(frozen=True)
class RiskRules:
    """The thresholds and points of each factor (settings.OUTLOOK_RISK)."""

    falling_min_percent: Decimal = Decimal(10)
    falling_steep_percent: Decimal = Decimal(25)
    falling_points: int = 15
    falling_steep_points: int = 30
    claim_days: int = 90
    claim_points: int = 15
    claim_max_points: int = 30
    signal_points: int = 10
    signal_max_points: int = 20
    at_stake_percent: Decimal = Decimal(1)
    at_stake_points: int = 15
    term_days: int = 90
    term_points: int = 20
    medium_points: int = 20
    high_points: int = 40

    @classmethod
    def from_settings(cls, values: Mapping) -> RiskRules:
        """From a mapping of upper-case names (settings.OUTLOOK_RISK); names left out keep their default."""
        fields = cls.__dataclass_fields__
        read = {}
        for name, raw in values.items():
            field = name.lower()
            if field not in fields:
                raise ValueError(f"OUTLOOK_RISK has no setting {name}")
            read[field] = Decimal(str(raw)) if fields[field].type == "Decimal" else int(raw)
        return cls(**read)


@dataclass(frozen=True)
class CustomerFacts:
    """What the risk of one customer is scored from.

    net_purchases: the last 12 months' net purchase amount; net_purchases_before: the 12 months before those;
    claims_below_net_net: the customer's price claims in the last `claim_days` days whose claimed price is below
    their net-net price; open_signals: open market signals the customer is exposed to or claimed in;
    unpaid_rebate: the rebate the customer would forfeit by leaving; term_ends_on: the last day of the earliest
    ending active agreement (None: no active agreement); currency: the customer's, which its amounts are in and
    their words are written in (None: the book's usual currency)."""

    net_purchases: Decimal
    net_purchases_before: Decimal
    claims_below_net_net: int
    open_signals: int
    unpaid_rebate: Decimal
    term_ends_on: date | None
    currency: str | None = None


@dataclass(frozen=True)
class RiskFactor:
    factor: str
    points: int
    words: str

    def as_json(self) -> dict:
        return {"factor": self.factor, "points": self.points, "words": self.words}


@dataclass(frozen=True)
class Risk:
    level: str
    points: int
    factors: tuple[RiskFactor, ...]

    def reasons(self) -> list[dict]:
        return [factor.as_json() for factor in self.factors]


def _money(amount: Decimal, currency: str | None) -> str:
    return money(amount, 2, currency)


def _percent(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.1'))}%"


def falling_volume(facts: CustomerFacts, rules: RiskRules) -> RiskFactor | None:
    before, now = facts.net_purchases_before, facts.net_purchases
    if before <= 0:
        return None  # nothing to fall from: a new customer is not falling
    drop = (before - now) / before * HUNDRED
    if drop < rules.falling_min_percent:
        return None
    points = rules.falling_steep_points if drop >= rules.falling_steep_percent else rules.falling_points
    return RiskFactor("falling_volume", points,
                      f"Purchases fell {_percent(drop)} against the year before ({_money(now, facts.currency)} in "
                      f"the last 12 months, {_money(before, facts.currency)} in the 12 before).")


def claims_below_net_net(facts: CustomerFacts, rules: RiskRules) -> RiskFactor | None:
    count = facts.claims_below_net_net
    if count <= 0:
        return None
    points = min(count * rules.claim_points, rules.claim_max_points)
    noun = "claim" if count == 1 else "claims"
    return RiskFactor("claims_below_net_net", points,
                      f"{count} competitor price {noun} below their net-net price in the last {rules.claim_days} days.")


def open_signal_exposure(facts: CustomerFacts, rules: RiskRules) -> RiskFactor | None:
    count = facts.open_signals
    if count <= 0:
        return None
    points = min(count * rules.signal_points, rules.signal_max_points)
    noun = "signal" if count == 1 else "signals"
    return RiskFactor("open_signals", points, f"Exposed to {count} open market {noun}.")


def little_at_stake(facts: CustomerFacts, rules: RiskRules) -> RiskFactor | None:
    if facts.net_purchases <= 0:
        return None  # a customer who bought nothing has nothing to leave
    share = facts.unpaid_rebate / facts.net_purchases * HUNDRED
    if share >= rules.at_stake_percent:
        return None
    return RiskFactor("little_at_stake", rules.at_stake_points,
                      f"Only {_money(facts.unpaid_rebate, facts.currency)} of unpaid rebate at stake "
                      f"({_percent(share)} of the year's purchases): cheap to leave.")


def term_ending(facts: CustomerFacts, rules: RiskRules, *, as_of: date) -> RiskFactor | None:
    ends = facts.term_ends_on
    if ends is None or ends < as_of:
        return None
    days = (ends - as_of).days
    if days > rules.term_days:
        return None
    return RiskFactor("term_ending", rules.term_points, f"An agreement's term ends on {ends:%Y-%m-%d}, in {days} days.")


def risk_score(facts: CustomerFacts, *, rules: RiskRules, as_of: date) -> Risk:
    """The customer's risk: each factor that holds with its points and words (largest first), their total and
    the level it reaches."""
    found = [factor for factor in (
        falling_volume(facts, rules), claims_below_net_net(facts, rules), open_signal_exposure(facts, rules),
        little_at_stake(facts, rules), term_ending(facts, rules, as_of=as_of),
    ) if factor is not None]
    found.sort(key=lambda factor: -factor.points)
    points = sum(factor.points for factor in found)
    level = HIGH if points >= rules.high_points else MEDIUM if points >= rules.medium_points else LOW
    return Risk(level, points, tuple(found))
