"""Tier bands: which band a volume has reached and what each band's share earns."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from .money import ZERO, as_decimal


@dataclass(frozen=True)
class Band:
    """A band starts at `threshold` (inclusive) and runs to the next band's threshold.

    `rate` is money per unit or a percent (2 means 2 %), as the rule's `rate_type` says.
    """

    threshold: Decimal
    rate: Decimal

    def __post_init__(self):
        object.__setattr__(self, "threshold", as_decimal("band threshold", self.threshold))
        object.__setattr__(self, "rate", as_decimal("band rate", self.rate))
        if self.rate < 0:
            raise ValueError(f"a band rate must not be negative, got {self.rate}")


def validate_bands(bands: Iterable[Band]) -> tuple[Band, ...]:
    """The bands as a tuple if the first starts at 0 and thresholds strictly ascend; ValueError otherwise."""
    bands = tuple(bands)
    if not bands:
        raise ValueError("a tiered rule needs at least one band")
    if bands[0].threshold != 0:
        raise ValueError(f"the first tier band must start at 0, not at {bands[0].threshold}")
    for lower, upper in zip(bands, bands[1:], strict=False):
        if upper.threshold <= lower.threshold:
            raise ValueError(f"tier band thresholds must ascend: {upper.threshold} follows {lower.threshold}")
    return bands


def band_rate(bands: tuple[Band, ...], value: Decimal) -> Decimal:
    """The rate of the highest band whose threshold `value` has reached (the first band below 0)."""
    reached = bands[0]
    for band in bands[1:]:
        if value < band.threshold:
            break
        reached = band
    return reached.rate


def band_shares(bands: tuple[Band, ...], value: Decimal) -> tuple[tuple[Band, Decimal], ...]:
    """How much of `value` falls in each band: 1,200 on bands at 0 and 1,000 is (1,000, 200)."""
    shares = []
    for band, upper in zip(bands, bands[1:] + (None,), strict=True):
        top = value if upper is None else min(value, upper.threshold)
        shares.append((band, max(ZERO, top - band.threshold)))
    return tuple(shares)


def incremental_total(bands: tuple[Band, ...], value: Decimal) -> Decimal:
    """Sum over bands of band rate x the share of `value` in that band (rates as given, unscaled)."""
    return sum((band.rate * share for band, share in band_shares(bands, value)), ZERO)
