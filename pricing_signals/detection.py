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

Two entry points over one core: `detect` takes Claim rows (dates, Decimal prices); `detect_columns` takes
plain columns (day numbers, prices in ten-thousandths, customer keys), as the stored claims are read by
the nightly sweep and the check of a new claim (pricing_signals/services/sweep.py), which decide every status,
signal and median through it. `detect` is `detect_columns` on its claims' columns; `signal_figures` gives
a signal's dates, counts and median for both.

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
    """When claims witness a signal (docs/product.md's detection rule; the defaults are the global default)."""

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


class Found(NamedTuple):
    """What `detect_columns` finds: each position's status, and the positions of each signal (ascending;
    signals in the order of their first position)."""

    statuses: list[str]
    signals: list[list[int]]


class Figures(NamedTuple):
    """A signal's figures over columns: first and last day (as the columns count days), how many claims
    and distinct customers, and the median claimed price."""

    first_day: int
    last_day: int
    claim_count: int
    customer_count: int
    median_price: Decimal


def detect(claims: Iterable[Claim], rule: Rule, *, as_of: date) -> Detection:
    """Statuses and signals of the claims of one product (or product and competitor), as of `as_of`."""
    claims = list(claims)
    ids = [claim.id for claim in claims]
    if len(set(ids)) != len(ids):
        raise ValueError("claim ids must be unique")
    days = [claim.reported_on.toordinal() for claim in claims]
    prices = [scaled_price(claim.price) for claim in claims]
    customers = [claim.customer for claim in claims]
    found = detect_columns(days, prices, customers, rule, as_of_day=as_of.toordinal())
    signals = []
    for group in found.signals:
        figures = signal_figures(days, prices, customers, group)
        signals.append(Signal(
            claim_ids=tuple(sorted(ids[i] for i in group)),
            window_start=date.fromordinal(figures.first_day),
            window_end=date.fromordinal(figures.last_day),
            customer_count=figures.customer_count,
            median_price=figures.median_price,
        ))
    signals.sort(key=lambda signal: (signal.window_start, signal.claim_ids[0]))
    return Detection(dict(zip(ids, found.statuses, strict=True)), tuple(signals))


def detect_columns(days: list[int], prices: list[int], customers: list, rule: Rule, *, as_of_day: int) -> Found:
    """`detect` over plain columns, one position per claim: day numbers (counted from any day, `as_of_day`
    from the same), prices in ten-thousandths (see scaled_price), customer keys. A claim that is not
    corroborated is pending while `as_of_day` is at most `window_days` after its day, unsubstantiated after."""
    corroborated, root = witness(days, prices, customers, rule)
    last_pending = as_of_day - rule.window_days  # claims of this day or later are still pending
    statuses = [
        CORROBORATED if corroborated[i] else PENDING if day >= last_pending else UNSUBSTANTIATED
        for i, day in enumerate(days)
    ]
    members: dict[int, list[int]] = {}
    for i, is_corroborated in enumerate(corroborated):
        if is_corroborated:
            members.setdefault(root[i], []).append(i)
    return Found(statuses, list(members.values()))


def signal_figures(days: list[int], prices: list[int], customers: list, positions: list[int]) -> Figures:
    """The figures of the signal made of the claims at `positions` of the columns (as detect_columns)."""
    if not positions:
        raise ValueError("a signal has at least one claim")
    its_days = [days[at] for at in positions]
    return Figures(
        first_day=min(its_days),
        last_day=max(its_days),
        claim_count=len(positions),
        customer_count=len({customers[at] for at in positions}),
        median_price=median_scaled([prices[at] for at in positions]),
    )


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


def median_scaled(prices: list[int]) -> Decimal:
    """The median of prices given in ten-thousandths, as a unit price: the middle price, or the mean of
    the middle two, rounded half-up to 4 places."""
    if not prices:
        raise ValueError("the median of no prices")
    ordered = sorted(prices)
    middle = len(ordered) // 2
    doubled = 2 * ordered[middle] if len(ordered) % 2 else ordered[middle - 1] + ordered[middle]
    return (Decimal(doubled) / (2 * PRICE_SCALE)).quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP)


def median_price(prices: list[Decimal]) -> Decimal:
    """The median of unit prices (median_scaled's rule)."""
    return median_scaled([scaled_price(price) for price in prices])


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
