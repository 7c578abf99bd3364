"""Which price claims corroborate each other: pure detection, no Django, no database, no clock.

A set of claims of one product (or one product and competitor, when the rule says so) **witnesses** a
signal when its reported dates span at most `window_days`, it comes from at least `min_customers`
distinct customers, and its highest claimed price is at most `tolerance_percent` above its lowest.
A claim is **corroborated** when it belongs to a witnessing set; a **signal** is a maximal group of
corroborated claims joined by shared witnessing sets (claims A and B are joined when one witnessing set
holds both, and joins chain). A claim that is not corroborated is **pending** while a later claim could
still corroborate it (as of a date no more than `window_days` after it was reported), and
**unsubstantiated** after that.

    result = detect(claims, Rule(window_days=30, min_customers=3), as_of=date(2026, 10, 31))
    result.statuses[claim_id]  # "corroborated" / "pending" / "unsubstantiated"
    result.signals             # (Signal(claim_ids, window_start, window_end, customer_count, ...), ...)

The result depends only on the set of claims, never on their order.

How it stays fast (O(n log n + n * d), d the number of claims near a claim in date and price): every
witnessing set fits in a box of `window_days` by [p, p * (1 + tolerance)] whose lower price is its lowest
price. Claims are visited in date order while a price-sorted list holds those of the last `window_days`.
When a claim arrives, every box that holds it is checked by a two-pointer pass over the claims priced
near it; a witnessing set is caught when its last claim arrives, since all the others are still in the
list then. The boxes that witness and hold the new claim all share it, so together they cover one run of
the price-sorted list: that run is corroborated and joined to the new claim in a union-find.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import NamedTuple

CORROBORATED = "corroborated"
PENDING = "pending"
UNSUBSTANTIATED = "unsubstantiated"

UNIT_PRICE_STEP = Decimal("0.0001")
# Claimed prices are unit prices with at most four places: as whole ten-thousandths they compare exactly.
PRICE_SCALE = 10_000


class Claim(NamedTuple):
    """One price claim as detection sees it. A NamedTuple rather than a frozen dataclass: a full sweep
    builds a million of them, and tuples are built several times faster."""

    id: int
    customer: int
    reported_on: date
    price: Decimal
    competitor: int | None = None


@dataclass(frozen=True)
class Rule:
    """When claims witness a signal (PRODUCT.md's detection rule; the defaults are the global default)."""

    window_days: int = 30
    min_customers: int = 3
    tolerance_percent: Decimal = Decimal(2)
    same_competitor: bool = False

    def __post_init__(self):
        if isinstance(self.window_days, bool) or not isinstance(self.window_days, int) or self.window_days < 0:
            raise ValueError(f"window_days must be a whole number of days >= 0, got {self.window_days!r}")
        if isinstance(self.min_customers, bool) or not isinstance(self.min_customers, int) or self.min_customers < 1:
            raise ValueError(f"min_customers must be a whole number >= 1, got {self.min_customers!r}")
        if isinstance(self.tolerance_percent, float) or not isinstance(self.tolerance_percent, Decimal | int):
            raise TypeError(f"tolerance_percent must be a Decimal, got {type(self.tolerance_percent).__name__}")
        if self.tolerance_percent < 0:
            raise ValueError(f"tolerance_percent must not be negative, got {self.tolerance_percent}")

    @property
    def price_ratio(self) -> tuple[int, int]:
        """(num, den): a set's prices agree when highest * den <= lowest * num, i.e. within the tolerance."""
        ratio = 1 + Fraction(Decimal(self.tolerance_percent)) / 100
        return ratio.numerator, ratio.denominator


@dataclass(frozen=True)
class Signal:
    """One signal: its claims (ids in ascending order), the dates they span, how many distinct customers
    and claims stand behind it, and the median claimed price (of the claims, rounded half-up to 4 places)."""

    claim_ids: tuple[int, ...]
    window_start: date
    window_end: date
    customer_count: int
    median_price: Decimal

    @property
    def claim_count(self) -> int:
        return len(self.claim_ids)


@dataclass(frozen=True)
class Detection:
    statuses: Mapping[int, str]  # claim id -> CORROBORATED / PENDING / UNSUBSTANTIATED
    signals: tuple[Signal, ...]  # ordered by window start, then first claim id

    def signal_of(self) -> dict[int, int]:
        """Claim id -> index into `signals`, for the corroborated claims."""
        return {claim_id: index for index, signal in enumerate(self.signals) for claim_id in signal.claim_ids}


def group_key(claim: Claim, rule: Rule, product) -> tuple:
    """Which claims are detected together: by product, and by competitor too when the rule says so."""
    return (product, claim.competitor) if rule.same_competitor else (product,)


def detect(claims: Iterable[Claim], rule: Rule, *, as_of: date) -> Detection:
    """Statuses and signals of the claims of one product (or product and competitor), as of `as_of`."""
    claims = list(claims)
    ids = [claim.id for claim in claims]
    if len(set(ids)) != len(ids):
        raise ValueError("claim ids must be unique")
    days = [claim.reported_on.toordinal() for claim in claims]
    prices = [scaled_price(claim.price) for claim in claims]
    customers = [claim.customer for claim in claims]
    corroborated, root = witness(days, prices, customers, rule)

    as_of_day = as_of.toordinal()
    statuses = {}
    members: dict[int, list[int]] = {}
    for i, claim_id in enumerate(ids):
        if corroborated[i]:
            statuses[claim_id] = CORROBORATED
            members.setdefault(root[i], []).append(i)
        elif as_of_day <= days[i] + rule.window_days:
            statuses[claim_id] = PENDING
        else:
            statuses[claim_id] = UNSUBSTANTIATED
    signals = [_signal([claims[i] for i in group]) for group in members.values()]
    signals.sort(key=lambda signal: (signal.window_start, signal.claim_ids[0]))
    return Detection(statuses, tuple(signals))


def scaled_price(price: Decimal) -> int:
    """A unit price as whole ten-thousandths; a price with more places is refused, not rounded."""
    if isinstance(price, float) or not isinstance(price, Decimal | int):
        raise TypeError(f"a claimed price must be a Decimal, got {type(price).__name__}")
    scaled = Decimal(price) * PRICE_SCALE
    if scaled != scaled.to_integral_value():
        raise ValueError(f"a claimed price has at most 4 decimal places, got {price}")
    if scaled <= 0:
        raise ValueError(f"a claimed price must be positive, got {price}")
    return int(scaled)


def median_price(prices: list[Decimal]) -> Decimal:
    ordered = sorted(prices)
    middle = len(ordered) // 2
    value = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    return value.quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP)


def _signal(claims: list[Claim]) -> Signal:
    return Signal(
        claim_ids=tuple(sorted(claim.id for claim in claims)),
        window_start=min(claim.reported_on for claim in claims),
        window_end=max(claim.reported_on for claim in claims),
        customer_count=len({claim.customer for claim in claims}),
        median_price=median_price([Decimal(claim.price) for claim in claims]),
    )


def witness(days: list[int], prices: list[int], customers: list, rule: Rule) -> tuple[list[bool], list[int]]:
    """The core over plain columns (day numbers, prices in ten-thousandths, customer keys):
    per claim, whether it is corroborated, and a union-find root shared by the claims of one signal."""
    n = len(days)
    window, needed = rule.window_days, rule.min_customers
    num, den = rule.price_ratio
    corroborated = [False] * n
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # The claims of the last `window_days`, sorted by price, as parallel lists (price, customer, index).
    live_prices: list[int] = []
    live_customers: list = []
    live_index: list[int] = []
    order = sorted(range(n), key=days.__getitem__)
    oldest = 0  # the first claim (in date order) that may still be live
    for i in order:
        day, price = days[i], prices[i]
        while days[order[oldest]] < day - window:
            gone = order[oldest]
            at = bisect_left(live_prices, prices[gone])
            while live_index[at] != gone:  # past other claims at the same price
                at += 1
            del live_prices[at], live_customers[at], live_index[at]
            oldest += 1
        at = bisect_right(live_prices, price)
        live_prices.insert(at, price)
        live_customers.insert(at, customers[i])
        live_index.insert(at, i)
        # The live claims priced so that a box of the tolerance can hold both them and this claim.
        first = bisect_left(live_prices, -((-price * den) // num))  # from ceil(price / ratio)
        last = bisect_right(live_prices, price * num // den)  # to floor(price * ratio)
        if last - first < needed:
            continue
        cover = _witnessing_run(live_prices, live_customers, first, last, at + 1, needed, num, den)
        if cover is None:
            continue
        here = find(i)
        for j in live_index[cover[0]:cover[1]]:
            corroborated[j] = True
            while parent[j] != j:  # find(j), inlined: this loop is the hot spot of a dense product
                parent[j] = parent[parent[j]]
                j = parent[j]
            if j != here:
                parent[j] = here
    return corroborated, [find(i) for i in range(n)]


def _witnessing_run(prices, customers, first, last, top, needed, num, den):
    """Among the live claims first..last-1 (sorted by price), the [from, to) run covered by the witnessing
    boxes that start at a position below `top` (at or below the new claim's price, so each also holds the
    new claim); None when none witnesses. The boxes holding the new claim overlap it, so their union is one
    run: from the lowest witnessing box's start to the highest witnessing box's end. A box needs enough
    claims before its distinct customers are counted (they never outnumber its claims)."""
    for low in range(first, top):
        low_end = bisect_right(prices, prices[low] * num // den, low, last)
        if low_end - low >= needed and len(set(customers[low:low_end])) >= needed:
            break
    else:
        return None
    for high in range(top - 1, low, -1):
        high_end = bisect_right(prices, prices[high] * num // den, high, last)
        if high_end - high >= needed and len(set(customers[high:high_end])) >= needed:
            return low, high_end
    return low, low_end


def window_around(reported_on: date, rule: Rule, windows: int = 1) -> tuple[date, date]:
    """The dates within `windows` windows of a claim: those whose statuses (1) or whose inputs (2) a new
    claim on `reported_on` can touch."""
    span = timedelta(days=rule.window_days * windows)
    return reported_on - span, reported_on + span
