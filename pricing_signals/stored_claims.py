"""Stored claims as plain columns, and the set-based writes of detection's results.

A sweep reads a million claims as integers (ids, day numbers from EPOCH, prices in ten-thousandths, status
codes) with one COPY that numpy parses, instead of building a million row tuples one by one; a claim check
reads its few nearby claims as rows. Results go back as differences only: claims with UPDATEs from bound
arrays, new signals with COPY when many. The SQL itself is in sql.py.
"""

from collections.abc import Sequence
from datetime import date

import numpy as np

from pricing_signals import sql
from pricing_signals.models import MarketSignal
from rebates.bulk import csv_field

EPOCH = sql.EPOCH  # claims are read as day numbers from here
BULK_SIGNALS = 1000  # new signals from which they are loaded with COPY
SIGNAL_FIGURES = ("product_id", "competitor_id", "window_start", "window_end", "claim_count", "customer_count",
                  "median_price", "our_average_price", "drop_percent")
UPDATED_FIELDS = tuple(name.removesuffix("_id") for name in SIGNAL_FIGURES)
# One record of sql.claims_copied: a field count, then each integer after its length (big-endian).
_RECORD = np.dtype([("fields", ">i2"), *((spec, kind) for column in range(sql.CLAIM_COLUMNS)
                                          for spec, kind in ((f"n{column}", ">i4"), (f"v{column}", ">i8")))])


class StoredClaims:
    """Stored claims as columns; a claim is a position in them. Statuses and signals are as stored."""

    COLUMNS = ("ids", "products", "competitors", "customers", "days", "prices", "statuses", "signals")

    def __init__(self):
        for name in self.COLUMNS:
            setattr(self, name, [])
        self._positions = None
        self._sorted = None  # (product, competitor) per position once sorted by them
        self._stored = None  # (ids, status codes, signals with 0 for none) per position as numpy read them (whole)

    def __len__(self):
        return len(self.ids)

    @classmethod
    def whole(cls, products: Sequence[int] | None = None) -> "StoredClaims":
        """Every claim not dismissed (of `products` only, when given), for a sweep: read with a binary COPY
        whose fixed-width records numpy takes as they are (a million rows in a fraction of a second, rather
        than built row by row), and ordered by product, competitor, day."""
        claims = cls()
        data = sql.claims_copied(products)
        count = (len(data) - sql.COPY_HEADER - 2) // _RECORD.itemsize
        if count <= 0:
            return claims
        records = np.frombuffer(data, dtype=_RECORD, count=count, offset=sql.COPY_HEADER)
        if (records["fields"] != sql.CLAIM_COLUMNS).any() or any(
                (records[f"n{column}"] != 8).any() for column in range(sql.CLAIM_COLUMNS)):
            raise ValueError("claims_copied gave a record other than 8 integers")
        table = np.empty((count, len(cls.COLUMNS)), dtype=np.int64)
        for column in range(len(cls.COLUMNS)):
            table[:, column] = records[f"v{column}"]
        table = table[_order_by(table[:, 1], table[:, 2], table[:, 4])]
        claims.ids, claims.products, claims.competitors, claims.customers, claims.days, claims.prices = (
            table[:, column].tolist() for column in range(6))
        claims.statuses = list(map(sql.CLAIM_STATUSES.__getitem__, table[:, 6].tolist()))
        claims.signals = [signal or None for signal in table[:, 7].tolist()]
        claims._sorted = table[:, 1:3]
        claims._stored = table[:, 0], table[:, 6], table[:, 7]
        return claims

    @classmethod
    def near(cls, product_id: int, first: date, last: date, competitor_id: int | None = None) -> "StoredClaims":
        """The claims not dismissed of a product (and competitor, when given) reported from `first` to `last`."""
        claims = cls()
        claims.add(sql.claims_near(product_id, first, last, competitor_id))
        return claims

    def add(self, rows: list[tuple]) -> None:
        """Append claim rows as sql.claims_near gives them."""
        self._positions = self._sorted = self._stored = None
        if not rows:
            return
        for column, values in zip(self.COLUMNS, zip(*rows, strict=True), strict=True):
            getattr(self, column).extend(values)

    def groups(self, split: set[int]):
        """(start, end) of each product's claims, or each product and competitor's for products in
        `split`, as runs of positions (sorting them first when they came unsorted)."""
        n = len(self.ids)
        if not n:
            return []
        if self._sorted is None:
            order = sorted(range(n), key=lambda at: (self.products[at], self.competitors[at], self.days[at]))
            for name in self.COLUMNS:
                column = getattr(self, name)
                setattr(self, name, [column[at] for at in order])
            self._sorted = np.array([self.products, self.competitors], dtype=np.int64).T.reshape(-1, 2)
        products, competitors = self._sorted[:, 0], self._sorted[:, 1]
        change = np.ones(n, dtype=bool)
        change[1:] = products[1:] != products[:-1]
        if split:
            change[1:] |= (competitors[1:] != competitors[:-1]) & np.isin(products[1:], list(split))
        starts = np.flatnonzero(change).tolist()
        self._positions = None
        return list(zip(starts, [*starts[1:], n], strict=True))

    def holds_signal(self, start: int, end: int) -> bool:
        """Whether any claim at positions start..end holds a signal."""
        if self._stored is not None:
            return bool(self._stored[2][start:end].any())
        return any(self.signals[start:end])

    def stored_codes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each position's claim id, stored status code (its place in sql.CLAIM_STATUSES) and signal (0 for
        none), as numpy arrays."""
        if self._stored is not None:
            return self._stored
        code = {name: at for at, name in enumerate(sql.CLAIM_STATUSES)}
        return (np.fromiter(self.ids, dtype=np.int64, count=len(self)),
                np.fromiter(map(code.__getitem__, self.statuses), dtype=np.int64, count=len(self)),
                np.fromiter([signal or 0 for signal in self.signals], dtype=np.int64, count=len(self)))

    def has(self, claim_id) -> bool:
        try:
            self.position(claim_id)
        except KeyError:
            return False
        return True

    def position(self, claim_id):
        if self._positions is None:
            self._positions = {}
            for at, known in enumerate(self.ids):
                self._positions.setdefault(known, at)  # a claim read twice is its first copy
        return self._positions[claim_id]


def _order_by(*keys: np.ndarray) -> np.ndarray:
    """The stable order of positions by `keys` (integer columns, the first the most significant), as
    np.lexsort gives it. When the keys' ranges fit in 63 bits together (ids and day numbers always do in
    practice) they are packed into one integer and sorted once, several times faster than lexsort's pass per
    key; otherwise lexsort."""
    shifted, bits = [], 0
    for key in keys:
        low = int(key.min())
        width = (int(key.max()) - low).bit_length()
        shifted.append((key - low, width))
        bits += width
    if bits > 63:
        return np.lexsort(keys[::-1])
    packed = np.zeros(len(keys[0]), dtype=np.int64)
    for key, width in shifted:
        packed <<= width
        packed |= key
    return np.argsort(packed, kind="stable")


NEW_SIGNAL_FIELDS = ("id", *UPDATED_FIELDS, "status", "decision", "decision_reason", "detected_at", "updated_at")
NEW_SIGNAL_DEFAULTS = ("status", "decision", "decision_reason")  # as a new MarketSignal has them


def signals_create(figures: list[dict], now) -> list[int]:
    """Insert a new signal for each dict of SIGNAL_FIGURES values; returns their ids in the same order.
    bulk_create, or for many (the first sweep of a large import makes tens of thousands) ids drawn from
    the sequence and the rows written straight from the figures with COPY, no model instance built."""
    if len(figures) < BULK_SIGNALS:
        signals = [MarketSignal(**values) for values in figures]
        MarketSignal.objects.bulk_create(signals, batch_size=2000)
        return [signal.pk for signal in signals]
    ids = sql.signal_ids_next(len(figures))
    fields = MarketSignal._meta
    stamp = csv_field(now)
    tail = ",".join([*(csv_field(fields.get_field(name).get_default()) for name in NEW_SIGNAL_DEFAULTS),
                     stamp, stamp]) + "\n"
    # The figures are ids, counts, Decimals, dates or None: written straight (csv_field's rule for them) rather
    # than through csv_field's checks value by value, since a first detection writes tens of thousands: one
    # line a signal from its values in SIGNAL_FIGURES order, dates by isoformat, None as an empty field.
    sql.signals_copy(NEW_SIGNAL_FIELDS, (
        f"{pk},{values['product_id']},{_field(values['competitor_id'])},{values['window_start'].isoformat()},"
        f"{values['window_end'].isoformat()},{values['claim_count']},{values['customer_count']},"
        f"{values['median_price']},{_field(values['our_average_price'])},{_field(values['drop_percent'])},{tail}"
        for pk, values in zip(ids, figures, strict=True)))
    return ids


def _field(value) -> str:
    """An id or Decimal that may be None, as a CSV field (None: empty, NULL)."""
    return "" if value is None else str(value)


class ClaimChanges:
    """The claims whose status or signal differs from what is stored, as arrays sorted by id (ids, status
    codes as positions in sql.CLAIM_STATUSES, signal ids with 0 for none); and how many claims were compared
    and how many of them end in each status. Compared with numpy: a sweep compares a million claims."""

    def __init__(self, ids, statuses, signals, claims: int, counts: dict[str, int]):
        self.ids, self.statuses, self.signals = ids, statuses, signals
        self.claims, self.counts = claims, counts

    def __len__(self):
        return len(self.ids)

    @classmethod
    def between(cls, claims: StoredClaims, statuses: list[str], signals: list, left_out=()) -> "ClaimChanges":
        """The claims' new `statuses` and `signals` (ids or None, one per position) against the stored ones,
        leaving out the positions in `left_out` (claims read twice)."""
        count = len(claims)
        code = {name: at for at, name in enumerate(sql.CLAIM_STATUSES)}
        now_status = np.fromiter(map(code.__getitem__, statuses), dtype=np.int8, count=count)
        now_signal = np.fromiter([signal or 0 for signal in signals], dtype=np.int64, count=count)
        stored_ids, was_status, was_signal = claims.stored_codes()
        kept = np.ones(count, dtype=bool)
        if left_out:
            kept[list(left_out)] = False
        changed = np.flatnonzero(kept & ((now_status != was_status) | (now_signal != was_signal)))
        ids = stored_ids[changed]
        # Rows are locked in one order by every writer: primary-key order.
        order = np.argsort(ids, kind="stable")
        tally = np.bincount(now_status[kept], minlength=len(sql.CLAIM_STATUSES)).tolist()
        return cls(ids[order], now_status[changed][order], now_signal[changed][order], claims=int(kept.sum()),
                   counts=dict(zip(sql.CLAIM_STATUSES, tally, strict=True)))


def claims_update(changes: ClaimChanges) -> None:
    """Set status and signal of the changed claims, set-based, in primary-key order."""
    if not len(changes):
        return
    sql.claims_set_coded(changes.ids, changes.statuses.astype(np.int16), changes.signals)
