"""Every SQL statement of market signals, behind named functions; the rest of the app calls these.

Values are always bound as parameters (lists as PostgreSQL arrays); table names come from the models.
psycopg2's COPY (`copy_expert`) is used here only. Claims are read as integers: day numbers from EPOCH,
prices in ten-thousandths and, for a sweep's COPY, statuses as their position in CLAIM_STATUSES and no
signal as 0.
"""

import io
from collections.abc import Iterable, Sequence
from datetime import date

import numpy as np
from django.db import connection

from pricing_signals.detection import CORROBORATED, PENDING, PRICE_SCALE, UNSUBSTANTIATED
from pricing_signals.models import MarketSignal, PriceClaim, SweptProduct
from rebates.bulk import copy_lines

EPOCH = date(2000, 1, 1)  # claims are read as day numbers from here
CLAIM_STATUSES = (PENDING, CORROBORATED, UNSUBSTANTIATED)  # status codes of a sweep's COPY
LOCK_ALL = 7_310_005  # (LOCK_ALL, 0): every detection; (LOCK_PRODUCT, product id): one product's claims
LOCK_PRODUCT = 7_310_006
UPDATE_BATCH = 100_000  # claims set per UPDATE
DENSE_SPAN = 2  # a batch of claims spanning at most this many ids a claim is written without a join
DISMISSED = PriceClaim.Status.DISMISSED.value
WRITTEN_STATUSES = (*CLAIM_STATUSES, DISMISSED)  # status codes of claims_set_coded


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def jit_off() -> None:
    """No JIT compilation for the rest of the transaction. Returns nothing."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")


def detection_lock_all() -> None:
    """Wait for, then hold until the transaction ends, the exclusive lock on every detection. Returns nothing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [LOCK_ALL])


def detection_lock_shared() -> None:
    """Wait for, then hold until the transaction ends, the detection lock shared. Returns nothing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, 0)", [LOCK_ALL])


def detection_lock_product(product_id: int) -> None:
    """Wait for, then hold until the transaction ends, the detection lock shared and the product's own
    exclusively (in that order: the select list is evaluated left to right). Returns nothing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, 0), pg_advisory_xact_lock(%s, %s)",
                       [LOCK_ALL, LOCK_PRODUCT, int(product_id) % 2**31])


def _claims_select(*, coded: bool) -> tuple[str, list]:
    """The SELECT of claim rows not dismissed (the claim table aliased c), to which a condition is added
    with AND; and its parameters so far."""
    params: list = [EPOCH, PRICE_SCALE]
    status, signal = "c.status", "c.signal_id"
    day = "(c.reported_on - %s::date)"
    if coded:  # every column a 64-bit integer
        status = f"CAST(CASE c.status {' '.join(['WHEN %s THEN %s'] * len(CLAIM_STATUSES))} END AS BIGINT)"
        for code, name in enumerate(CLAIM_STATUSES):
            params += [name, code]
        signal = "COALESCE(c.signal_id, 0)"
        day = f"CAST({day} AS BIGINT)"
    params.append(DISMISSED)
    sql = (f"SELECT c.id, c.product_id, c.competitor_id, c.customer_id, {day}, "
           f"CAST(ROUND(c.claimed_price * %s) AS BIGINT), {status}, {signal} "
           f"FROM {_table(PriceClaim)} c WHERE c.status <> %s")
    return sql, params


CLAIM_COLUMNS = 8  # id, product, competitor, customer, day, price, status code, signal (claims_copied)
COPY_HEADER = 19  # bytes of a binary COPY's header: signature, flags, extension length (none)


def claims_copied(products: Sequence[int] | None = None) -> bytes:
    """Every claim not dismissed (of `products` only, when given) as the bytes a binary COPY writes: after
    a COPY_HEADER-byte header, one record per claim of a 16-bit field count and 8 fields, each a 32-bit
    length and a 64-bit integer (big-endian): id, product, competitor, customer, day (from EPOCH), price
    (in ten-thousandths), status (its position in CLAIM_STATUSES) and signal (0 when none); then a 16-bit
    trailer. Unordered. Binary, since numpy reads fixed-width records without parsing any text."""
    sql, params = _claims_select(coded=True)
    if products is not None:
        sql += " AND c.product_id = ANY(%s::bigint[])"
        params.append([int(pk) for pk in products])
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        query = cursor.mogrify(sql, params).decode()  # COPY takes no parameters: bound by the driver
        cursor.cursor.copy_expert(f"COPY ({query}) TO STDOUT WITH (FORMAT binary)", buffer)
    return buffer.getvalue()


def _claim_rows(sql, params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def claims_near(product_id: int, first: date, last: date, competitor_id: int | None = None) -> list[tuple]:
    """The claims not dismissed of the product (and competitor, when given) reported from `first` to
    `last`, as rows (id, product, competitor, customer, day from EPOCH, price in ten-thousandths, status,
    signal id or None). Unordered."""
    sql, params = _claims_select(coded=False)
    sql += " AND c.product_id = %s AND c.reported_on BETWEEN %s AND %s"
    params += [product_id, first, last]
    if competitor_id is not None:
        sql += " AND c.competitor_id = %s"
        params.append(competitor_id)
    return _claim_rows(sql, params)


def claims_of_signals(signal_ids: Sequence[int]) -> list[tuple]:
    """The claims not dismissed that the signals hold, as rows like claims_near's. Unordered."""
    sql, params = _claims_select(coded=False)
    sql += " AND c.signal_id = ANY(%s::bigint[])"
    params.append([int(pk) for pk in signal_ids])
    return _claim_rows(sql, params)


def claims_set(ids: Sequence[int], statuses: Sequence[str], signals: Sequence[int | None]) -> None:
    """Set the status and signal (None: none) of each claim of `ids`, given as parallel lists sorted by id
    (statuses among the model's choices, else ValueError before anything is written). Returns nothing.
    See claims_set_coded, which this calls."""
    index = {name: at for at, name in enumerate(WRITTEN_STATUSES)}
    if any(status not in index for status in statuses):
        raise ValueError("a claim status outside the model's choices")
    claims_set_coded(np.asarray(ids, dtype=np.int64), np.fromiter(map(index.__getitem__, statuses), dtype=np.int16,
                                                                  count=len(statuses)),
                     np.fromiter((signal or 0 for signal in signals), dtype=np.int64, count=len(signals)))


def claims_set_coded(ids: np.ndarray, codes: np.ndarray, signals: np.ndarray) -> None:
    """claims_set over numpy arrays, as a sweep holds its results: ids sorted, each status as its position in
    WRITTEN_STATUSES (CLAIM_STATUSES, then dismissed), signals with 0 for none. A code outside them is
    refused (ValueError) before anything is written. Returns nothing.

    One UPDATE per UPDATE_BATCH claims. Each column is bound as one text parameter that PostgreSQL reads
    as an array: a million claims bound as lists would be sent as ARRAY[...] expressions of a million
    constants, which doubles the cost of the first detection of a bulk import. A batch whose claims fill
    most of its id range (the first detection of an import changes nearly every claim) is written with no
    join at all: its arrays run over the whole range, a claim's values found at its id less the first
    (int2 and int8 elements, so each is found at once), -1 where a claim keeps its values; a sparse batch
    (the nightly sweep, a claim check) is joined to its values on the id. The arrays are laid out by numpy:
    a first detection writes a million claims."""
    if len(ids) != len(codes) or len(ids) != len(signals):
        raise ValueError("claims_set_coded needs one status and one signal per claim")
    if len(codes) and (codes.min() < 0 or codes.max() >= len(WRITTEN_STATUSES)):
        raise ValueError("a claim status outside the model's choices")
    table = _table(PriceClaim)
    names = "{" + ",".join(WRITTEN_STATUSES) + "}"
    with connection.cursor() as cursor:
        for start in range(0, len(ids), UPDATE_BATCH):
            batch = ids[start:start + UPDATE_BATCH].astype(np.int64)
            batch_codes, batch_signals = codes[start:start + UPDATE_BATCH], signals[start:start + UPDATE_BATCH]
            first, last = int(batch[0]), int(batch[-1])
            if last - first + 1 <= DENSE_SPAN * len(batch):
                code_at = np.full(last - first + 1, -1, dtype=np.int16)
                signal_at = np.zeros(last - first + 1, dtype=np.int64)
                code_at[batch - first], signal_at[batch - first] = batch_codes, batch_signals
                codes_text = _array_text(code_at)
                cursor.execute(
                    f"UPDATE {table} AS c SET status = (%s::text[])[(%s::int2[])[c.id - %s + 1] + 1], "
                    "signal_id = NULLIF((%s::int8[])[c.id - %s + 1], 0) "
                    "WHERE c.id BETWEEN %s AND %s AND (%s::int2[])[c.id - %s + 1] >= 0",
                    [names, codes_text, first, _array_text(signal_at), first, first, last, codes_text, first])
                continue
            cursor.execute(
                f"UPDATE {table} AS c SET status = v.status, signal_id = NULLIF(v.signal_id, 0) "
                "FROM unnest(string_to_array(%s, ',')::bigint[], string_to_array(%s, ','), "
                "            string_to_array(%s, ',')::bigint[]) AS v (id, status, signal_id) "
                "WHERE c.id = v.id AND c.id BETWEEN %s AND %s",
                [",".join(map(str, batch.tolist())), ",".join(map(WRITTEN_STATUSES.__getitem__, batch_codes.tolist())),
                 ",".join(map(str, batch_signals.tolist())), first, last])


def _array_text(values: np.ndarray) -> str:
    """Integers as PostgreSQL's text form of an array."""
    return "{" + ",".join(map(str, values.tolist())) + "}"


# A claim's part of its product's fingerprint: what detection reads of it and what detection wrote to it
# (its signal and whether it is corroborated; not pending against unsubstantiated, which only the date moves).
# hash_record_extended hashes numbers by value (1.5 and 1.50 alike); the claims' parts are combined with XOR,
# so the fingerprint does not depend on their order.
_FINGERPRINT = ("bit_xor(hash_record_extended(ROW(c.id, c.customer_id, c.competitor_id, c.reported_on, "
                "c.claimed_price, c.signal_id, c.status = %s), 0))")


def claims_state(products: Sequence[int], cutoffs: Sequence[date]) -> list[tuple]:
    """For each product of `products` that has claims not dismissed, `cutoffs` the first day (one per
    product) whose claims are still pending when not corroborated: (product, claims, fingerprint (see
    claims_fingerprints), claims whose check is still to run, corroborated claims, claims not corroborated
    reported on or after the cutoff, ids of the pending claims before the cutoff, ids of the unsubstantiated
    claims from the cutoff on). The id lists are unordered (empty: []). One pass over the claims."""
    if not products:
        return []
    sql = (f"SELECT c.product_id, count(*), {_FINGERPRINT}, count(*) FILTER (WHERE c.check_pending), "
           "count(*) FILTER (WHERE c.status = %s), "
           "count(*) FILTER (WHERE c.status <> %s AND c.reported_on >= v.cutoff), "
           "COALESCE(array_agg(c.id) FILTER (WHERE c.status = %s AND c.reported_on < v.cutoff), '{}'), "
           "COALESCE(array_agg(c.id) FILTER (WHERE c.status = %s AND c.reported_on >= v.cutoff), '{}') "
           f"FROM {_table(PriceClaim)} c JOIN unnest(%s::bigint[], %s::date[]) AS v (product, cutoff) "
           "ON c.product_id = v.product WHERE c.status <> %s GROUP BY c.product_id")
    params = [CORROBORATED, CORROBORATED, CORROBORATED, PENDING, UNSUBSTANTIATED,
              [int(pk) for pk in products], list(cutoffs), DISMISSED]
    return _claim_rows(sql, params)


def claims_fingerprints(products: Sequence[int]) -> list[tuple]:
    """(product, claims, fingerprint) of each product of `products` that has claims not dismissed: the
    fingerprint a 64-bit hash of every such claim's id, customer, competitor, date, price, signal and
    whether it is corroborated, which any change of one of those (or a claim more or less) changes."""
    if not products:
        return []
    sql = (f"SELECT c.product_id, count(*), {_FINGERPRINT} FROM {_table(PriceClaim)} c "
           "WHERE c.status <> %s AND c.product_id = ANY(%s::bigint[]) GROUP BY c.product_id")
    return _claim_rows(sql, [CORROBORATED, DISMISSED, [int(pk) for pk in products]])


def claims_hash(ids: Sequence[int]) -> int:
    """The part of their product's fingerprint (see claims_fingerprints) that the claims of `ids` not
    dismissed make up as stored now (0 for none)."""
    if not len(ids):
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE({_FINGERPRINT}, 0) FROM {_table(PriceClaim)} c "
                       "WHERE c.id = ANY(%s::bigint[]) AND c.status <> %s",
                       [CORROBORATED, [int(pk) for pk in ids], DISMISSED])
        return cursor.fetchone()[0]


def swept_record_moved(product_id: int, difference: int, ids: Sequence[int]) -> None:
    """Move the product's SweptProduct record (if any) by one more claim and its fingerprint by `difference`
    and by the part the claims of `ids` make up as stored now (claims_hash), in one statement. Returns
    nothing."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_table(SweptProduct)} SET claim_count = claim_count + 1, fingerprint = "
                       f"fingerprint # %s::bigint # (SELECT COALESCE({_FINGERPRINT}, 0) FROM {_table(PriceClaim)} c "
                       "WHERE c.id = ANY(%s::bigint[]) AND c.status <> %s) WHERE product_id = %s",
                       [int(difference), CORROBORATED, [int(pk) for pk in ids], DISMISSED, int(product_id)])


def signals_priced_otherwise(products: Sequence[int], prices: Sequence) -> list[tuple]:
    """(id, product, median price) of the signals of `products` that corroborated claims hold and whose
    stored our average price differs from `prices` (one per product, None for none)."""
    if not products:
        return []
    sql = (f"SELECT s.id, s.product_id, s.median_price FROM {_table(MarketSignal)} s "
           "JOIN unnest(%s::bigint[], %s::numeric[]) AS v (product, ours) ON s.product_id = v.product "
           "WHERE s.our_average_price IS DISTINCT FROM v.ours "
           f"AND EXISTS (SELECT 1 FROM {_table(PriceClaim)} c WHERE c.signal_id = s.id AND c.status = %s)")
    return _claim_rows(sql, [[int(pk) for pk in products], list(prices), CORROBORATED])


def statement_rows(statement: str, params: Sequence) -> list[tuple]:
    """The rows of a statement Django compiled from a queryset of ours (selectors.exposure_statement: the
    signal page's exposure, compiled once per process), its values bound as parameters."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall()


def signal_ids_next(count: int) -> list[int]:
    """`count` new ids drawn from the signal table's sequence, in the order drawn."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [MarketSignal._meta.db_table, count])
        return [row[0] for row in cursor.fetchall()]


def signals_copy(fields: Sequence[str], csv_lines: Iterable[str]) -> None:
    """Load signal rows, given as CSV lines of `fields` (see rebates.bulk.csv_field), with one COPY.
    Returns nothing."""
    copy_lines(MarketSignal, fields, csv_lines)


__all__ = [
    "CLAIM_COLUMNS",
    "CLAIM_STATUSES",
    "COPY_HEADER",
    "EPOCH",
    "claims_copied",
    "claims_fingerprints",
    "claims_hash",
    "claims_near",
    "claims_of_signals",
    "claims_set",
    "claims_set_coded",
    "claims_state",
    "detection_lock_all",
    "detection_lock_product",
    "detection_lock_shared",
    "jit_off",
    "signal_ids_next",
    "signals_copy",
    "signals_priced_otherwise",
    "statement_rows",
    "swept_record_moved",
]
