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


class StoredClaims:
    """Stored claims as columns; a claim is a position in them. Statuses and signals are as stored."""

    COLUMNS = ("ids", "products", "competitors", "customers", "days", "prices", "statuses", "signals")

    def __init__(self):
        for name in self.COLUMNS:
            setattr(self, name, [])
        self._positions = None
        self._sorted = None  # (product, competitor) per position once sorted by them

    def __len__(self):
        return len(self.ids)

    @classmethod
    def whole(cls, products: Sequence[int] | None = None) -> "StoredClaims":
        """Every claim not dismissed (of `products` only, when given), for a sweep: read with COPY, a
        million rows parsed by numpy in a second rather than built row by row, and ordered by product,
        competitor, day."""
        claims = cls()
        text = sql.claims_copied(products)
        if not text:
            return claims
        table = np.fromstring(text, dtype=np.int64, sep=" ").reshape(-1, len(cls.COLUMNS))
        table = table[np.lexsort((table[:, 4], table[:, 2], table[:, 1]))]
        claims.ids, claims.products, claims.competitors, claims.customers, claims.days, claims.prices = (
            table[:, column].tolist() for column in range(6))
        claims.statuses = list(map(sql.CLAIM_STATUSES.__getitem__, table[:, 6].tolist()))
        claims.signals = [signal or None for signal in table[:, 7].tolist()]
        claims._sorted = table[:, 1:3]
        return claims

    @classmethod
    def near(cls, product_id: int, first: date, last: date, competitor_id: int | None = None) -> "StoredClaims":
        """The claims not dismissed of a product (and competitor, when given) reported from `first` to `last`."""
        claims = cls()
        claims.add(sql.claims_near(product_id, first, last, competitor_id))
        return claims

    def add(self, rows: list[tuple]) -> None:
        """Append claim rows as sql.claims_near gives them."""
        self._positions = self._sorted = None
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
    sql.signals_copy(NEW_SIGNAL_FIELDS, (
        f"{pk}," + ",".join([csv_field(values[name]) for name in SIGNAL_FIGURES]) + "," + tail
        for pk, values in zip(ids, figures, strict=True)))
    return ids


def claims_update(changes: list[tuple[int, str, int | None]]) -> None:
    """Set status and signal of many claims, set-based: (id, status, signal id or None) each, written in
    primary-key order (rows are locked in one order by every writer). A status outside the model's choices
    is refused (ValueError) before anything is written."""
    if not changes:
        return
    ids, statuses, signals = zip(*changes, strict=True)
    # numpy sorts a million ids in a fraction of the time Python takes to sort a million tuples.
    order = np.argsort(np.fromiter(ids, dtype=np.int64, count=len(ids)), kind="stable").tolist()
    sql.claims_set([ids[at] for at in order], [statuses[at] for at in order], [signals[at] for at in order])
