"""Stored claims as plain columns, and the set-based writes of detection's results.

A sweep reads a million claims as integers (ids, day numbers from EPOCH, prices in ten-thousandths, status
codes) with one COPY that numpy parses, instead of building a million row tuples through the cursor; a
claim check reads its few nearby claims through the cursor. Results go back as differences only: claims
in one UPDATE (from an inline list, or a temporary table when many), new signals with COPY when many.
"""

import io
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from django.db import connection

from pricing_signals.detection import CORROBORATED, PENDING, UNIT_PRICE_STEP, UNSUBSTANTIATED
from pricing_signals.models import MarketSignal, PriceClaim
from rebates.bulk import copy_lines, csv_field, indexes_rebuilt_after

EPOCH = date(2000, 1, 1)  # claims are read as day numbers from here
PRICE_SCALE = 10_000
VALUES_BATCH = 1000  # changes written from an inline list of values; more go through a temporary table
MOST_OF_TABLE = 0.5  # claims changed at once, as a share of the table, from which its indexes are rebuilt
REBUILD_LOCK_WAIT_MS = 2000  # pages reading claims meanwhile: past this wait the indexes are kept instead
DISMISSED = PriceClaim.Status.DISMISSED.value
CODED = (PENDING, CORROBORATED, UNSUBSTANTIATED)  # statuses as the integers a sweep reads them as
SIGNAL_FIGURES = ("product_id", "competitor_id", "window_start", "window_end", "claim_count", "customer_count",
                  "median_price", "our_average_price", "drop_percent")
UPDATED_FIELDS = tuple(name.removesuffix("_id") for name in SIGNAL_FIGURES)


class ClaimColumns:
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
    def read(cls, where, params, whole=False):
        """The claims matching `where`; `whole` for a sweep: read with COPY, a million rows parsed by numpy
        in a second rather than built row by row, and ordered by product, competitor, day."""
        claims = cls()
        if whole:
            claims._copy(where, params)
        else:
            claims.add(where, params)
        return claims

    def _select(self, where, *, coded=False):
        day = f"(c.reported_on - DATE '{EPOCH.isoformat()}')"
        status, signal = "c.status", "c.signal_id"
        if coded:  # every column an integer
            cases = " ".join(f"WHEN '{name}' THEN {code}" for code, name in enumerate(CODED))
            status = f"CASE c.status {cases} END"
            signal = "COALESCE(c.signal_id, 0)"
        table = connection.ops.quote_name(PriceClaim._meta.db_table)
        return (f"SELECT c.id, c.product_id, c.competitor_id, c.customer_id, {day}, "
                f"CAST(ROUND(c.claimed_price * {PRICE_SCALE}) AS BIGINT), {status}, {signal} "
                f"FROM {table} c WHERE c.status <> '{DISMISSED}' AND {where}")

    def add(self, where, params):
        """Append the claims (not dismissed) matching `where` (SQL on the claim table aliased c)."""
        with connection.cursor() as cursor:
            cursor.execute(self._select(where), params)
            while rows := cursor.fetchmany(100_000):
                for column, values in zip(self.COLUMNS, zip(*rows, strict=True), strict=True):
                    getattr(self, column).extend(values)
        self._positions = self._sorted = None

    def _copy(self, where, params):
        buffer = io.StringIO()
        with connection.cursor() as cursor:
            sql = cursor.mogrify(self._select(where, coded=True), params).decode()
            cursor.cursor.copy_expert(f"COPY ({sql}) TO STDOUT", buffer)
        text = buffer.getvalue()
        if not text:
            return
        table = np.fromstring(text, dtype=np.int64, sep=" ").reshape(-1, len(self.COLUMNS))
        table = table[np.lexsort((table[:, 4], table[:, 2], table[:, 1]))]
        self.ids, self.products, self.competitors, self.customers, self.days, self.prices = (
            table[:, column].tolist() for column in range(6))
        self.statuses = list(map(CODED.__getitem__, table[:, 6].tolist()))
        self.signals = [signal or None for signal in table[:, 7].tolist()]
        self._sorted = table[:, 1:3]

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


def median_scaled(prices: list[int]) -> Decimal:
    """The median of prices in ten-thousandths, as a unit price (detection.median_price's rule)."""
    ordered = sorted(prices)
    middle = len(ordered) // 2
    doubled = 2 * ordered[middle] if len(ordered) % 2 else ordered[middle - 1] + ordered[middle]
    return (Decimal(doubled) / (2 * PRICE_SCALE)).quantize(UNIT_PRICE_STEP, rounding=ROUND_HALF_UP)


NEW_SIGNAL_FIELDS = ("id", *UPDATED_FIELDS, "status", "decision", "decision_reason", "detected_at", "updated_at")


def signals_create(signals: list[MarketSignal], now) -> None:
    """Insert new signals and give each its id: bulk_create, or for many (the first sweep of a large
    import makes tens of thousands) ids drawn from the sequence and the rows loaded with COPY."""
    if len(signals) < VALUES_BATCH:
        MarketSignal.objects.bulk_create(signals, batch_size=2000)
        return
    table = MarketSignal._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [table, len(signals)])
        ids = [row[0] for row in cursor.fetchall()]
    for signal, pk in zip(signals, ids, strict=True):
        signal.pk, signal.detected_at, signal.updated_at = pk, now, now
    columns = [MarketSignal._meta.get_field(name).attname for name in NEW_SIGNAL_FIELDS]
    copy_lines(MarketSignal, NEW_SIGNAL_FIELDS, (
        ",".join(csv_field(getattr(signal, column)) for column in columns) + "\n" for signal in signals))


def claims_update(changes: list[tuple[int, str, int | None]]) -> None:
    """Set status and signal of many claims, set-based. Statuses come from the model's choices and ids
    are ints, so a short list is written inline; a long one is copied into a temporary table and applied
    in one UPDATE."""
    if not changes:
        return
    valid = set(PriceClaim.Status.values)
    if any(status not in valid for _, status, _ in changes):
        raise ValueError("a claim status outside the model's choices")
    table = connection.ops.quote_name(PriceClaim._meta.db_table)
    changes.sort()  # in primary-key order: rows are locked in one order by every writer
    if len(changes) > VALUES_BATCH:
        data = "".join(f"{pk},{status},{'' if signal is None else signal}\n" for pk, status, signal in changes)
        # Most of the table at once (the first detection after a bulk import): rebuilding its indexes and
        # checking the signal key in one query costs a third of maintaining them row by row.
        rebuilt = indexes_rebuilt_after(PriceClaim._meta.db_table, rows_written=len(changes), share=MOST_OF_TABLE,
                                        columns=["signal_id"], lock_wait_ms=REBUILD_LOCK_WAIT_MS)
        with rebuilt, connection.cursor() as cursor:
            cursor.execute("CREATE TEMPORARY TABLE pricing_signals_claim_changes "
                           "(id bigint PRIMARY KEY, status varchar(16), signal_id bigint) ON COMMIT DROP")
            cursor.cursor.copy_expert("COPY pricing_signals_claim_changes FROM STDIN WITH (FORMAT csv)",
                                      io.StringIO(data))
            cursor.execute("ANALYZE pricing_signals_claim_changes")
            cursor.execute(f"UPDATE {table} SET status = v.status, signal_id = v.signal_id "
                           f"FROM pricing_signals_claim_changes v WHERE {table}.id = v.id")
            cursor.execute("DROP TABLE pricing_signals_claim_changes")
        return
    for start in range(0, len(changes), VALUES_BATCH):
        values = ", ".join(
            f"({int(pk)}, '{status}', {'CAST(NULL AS BIGINT)' if signal is None else int(signal)})"
            for pk, status, signal in changes[start:start + VALUES_BATCH]
        )
        with connection.cursor() as cursor:
            cursor.execute(f"WITH v (id, status, signal_id) AS (VALUES {values}) UPDATE {table} "
                           f"SET status = v.status, signal_id = v.signal_id FROM v WHERE {table}.id = v.id")
