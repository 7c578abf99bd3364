"""A buying group's rebate split among its members by their share of the period's volume (docs/buying-groups.md).

Pure: Decimals and Fractions in and out, no Django. The parts of a split always sum to the amount split, to the
cent: each member gets its exact share rounded down to the cent, and the cents left go one each to the largest
remainders (ties to the member named first).
"""

from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

from .kinds import Kind
from .rules import Volume
from .terms import RebateRule


def shares(volumes: Mapping[str, Decimal]) -> dict[str, Fraction]:
    """Each member's share of the volume, as an exact fraction; a member with nothing (or less: credit notes)
    has none. When no member has bought, the members share alike."""
    counted = {member: Fraction(max(volume, Decimal(0))) for member, volume in volumes.items()}
    total = sum(counted.values(), Fraction(0))
    if total == 0:
        return {member: Fraction(1, len(counted)) for member in counted} if counted else {}
    return {member: volume / total for member, volume in counted.items()}


def split_by_share(amount: Decimal, volumes: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """`amount` (money, to the cent) split among the members in proportion to their `volumes` (see `shares`):
    the parts sum to `amount` exactly (largest remainder on cents). A negative amount (a correction) is split
    the same way, each part negative."""
    parts = shares(volumes)
    if not parts:
        return {}
    cents = int(amount.scaleb(2).to_integral_exact())
    sign, whole = (-1, -cents) if cents < 0 else (1, cents)
    exact = {member: share * whole for member, share in parts.items()}
    floors = {member: value.numerator // value.denominator for member, value in exact.items()}
    left = whole - sum(floors.values())
    named = {member: index for index, member in enumerate(parts)}
    order = sorted(parts, key=lambda member: (-(exact[member] - floors[member]), named[member]))
    for member in order[:left]:
        floors[member] += 1
    return {member: (Decimal(sign * floors[member]) / 100).quantize(Decimal("0.01")) for member in parts}


def volume_measured(kind: type[Kind], rule: RebateRule, quantity: Decimal, amount: Decimal) -> Decimal:
    """The member's volume a split reads: what the rule's tiers and minimum are measured on (units for a per-unit
    rule or tiers on quantity, net amount otherwise)."""
    units = kind.minimum_volume(rule, Volume(quantity=Decimal(1), amount=Decimal(0))) == 1
    return quantity if units else amount
