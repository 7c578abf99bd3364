"""Bonus conditions: the extra percent a settlement period earns on its whole scope."""

from collections.abc import Mapping
from decimal import Decimal

from .money import ZERO
from .terms import LaunchBonus


def bonus_percent(bonuses: tuple[LaunchBonus, ...], bought_to_date: Mapping[str, Decimal]) -> Decimal:
    """The extra percent in force: the sum of launch bonuses whose product's units bought in the period
    to date (`bought_to_date`, by SKU) reached the bonus's minimum quantity."""
    return sum(
        (b.extra_percent for b in bonuses if bought_to_date.get(b.product, ZERO) >= b.minimum_quantity),
        ZERO,
    )
