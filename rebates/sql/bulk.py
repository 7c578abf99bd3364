"""Set-based writes: PostgreSQL COPY for large batches of rows, and writing many rows with a table's
secondary indexes and foreign keys rebuilt afterwards instead of maintained row by row.

The driver's own calls (COPY from a file-like object) are made here only.
"""

from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal

from django.db import OperationalError, connection, transaction

COPY_READ_SIZE = 1 << 20


def insert_rows(model, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert rows given as tuples of values in `columns` order (field names): one COPY. Returns None."""
    copy_lines(model, columns, (",".join(map(csv_field, row)) + "\n" for row in rows))


def copy_lines(model, columns: Sequence[str], csv_lines: Iterable[str]) -> None:
    """COPY ready-made CSV lines (see csv_field) into the model's table, streaming them as they come.

    Returns None. Errors are the driver's own (psycopg2's), not Django's: wrap the call in
    `connection.wrap_database_errors` to have Django's.
    """
    quote = connection.ops.quote_name
    names = ", ".join(quote(model._meta.get_field(name).column) for name in columns)
    sql = f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN WITH (FORMAT csv)"
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(sql, _LineReader(csv_lines), size=COPY_READ_SIZE)


def csv_field(value) -> str:
    """One CSV field for COPY, as text: an empty unquoted field is NULL, text is quoted."""
    write = _FIELD_OF_TYPE.get(type(value))
    if write is not None:
        return write(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return _quoted(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


# The common types looked up at once (a night's outlook writes some 200,000 fields); any other value (a
# subclass) goes through the checks above, which give the same text.
_FIELD_OF_TYPE = {
    type(None): lambda value: "", bool: lambda value: "t" if value else "f", str: _quoted, int: str,
    Decimal: str, date: date.isoformat, datetime: datetime.isoformat,
}


class _LineReader:
    """A file that COPY reads, made of lines generated as it reads: the database loads one chunk while
    the next is generated, and the whole table never sits in memory. A read returns whole lines."""

    def __init__(self, lines):
        self._lines = iter(lines)

    def read(self, size=-1):
        chunk, length = [], 0
        for line in self._lines:
            chunk.append(line)
            length += len(line)
            if 0 <= size <= length:
                break
        return "".join(chunk)


@contextmanager
def indexes_rebuilt_after(table: str, *, rows_written: int, share: float = 1.0, columns: Sequence[str] = (),
                          lock_wait_ms: int | None = None, indexes_on: Sequence[str] = ()):
    """Write many rows without the table's secondary indexes and foreign keys, then put them back as they were.

    Building an index once and checking a foreign key with one query is far cheaper than maintaining every
    index and checking keys row by row for a million rows. Indexes behind a constraint (the primary key,
    unique keys) stay. Only the foreign keys on `columns` go (all of them when none are named: a load),
    since an UPDATE checks only the keys it changes. It all happens in a savepoint of the caller's
    transaction (one is required), so a failure leaves the table as it was.

    The table (and the tables its dropped keys name) is locked against other writers and readers meanwhile.
    With `lock_wait_ms`, that lock is waited for that long at most: when others hold the table longer, the
    indexes are kept and the rows written through them instead. Also kept when fewer than `share` times the
    table's rows are written, as rebuilding would then cost more. With `indexes_on`, only the secondary
    indexes over one of those columns go: an UPDATE that changes no column of the others leaves them as they
    are where a page has room for the new row versions (a heap-only update). Yields None.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("indexes_rebuilt_after needs a transaction: dropped indexes must never be committed")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if rows_written < _row_count(cursor, table) * share:
            yield
            return
        keys = _foreign_keys(cursor, table, columns)
        indexes = _secondary_indexes(cursor, table, indexes_on)
    foreign_keys = [(name, definition) for name, definition, _ in keys]
    locked = list(dict.fromkeys([table, *(referenced for _, _, referenced in keys)]))
    if lock_wait_ms is not None and not _locked_within(locked, lock_wait_ms):
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        # Checks still pending on the table run now, before their constraints go away.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {quote(name)}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        yield
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")  # each index sorted in memory, once
        # The remaining keys' checks queued meanwhile (rows this transaction wrote) run before the indexes
        # come back, which PostgreSQL requires.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for _, definition in indexes:
            cursor.execute(definition)  # pg_get_indexdef's own statement
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")


def _row_count(cursor, table: str) -> int:
    """The table's rows, counted exactly: statistics may be stale or missing."""
    cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
    return cursor.fetchone()[0]


def _foreign_keys(cursor, table: str, columns: Sequence[str]) -> list[tuple[str, str, str]]:
    """(name, definition, referenced table) of the table's foreign keys on any of `columns` (all of them when
    none are named), by name."""
    cursor.execute("SELECT conname, pg_get_constraintdef(oid), confrelid::regclass::text FROM pg_constraint "
                   "WHERE conrelid = %s::regclass AND contype = 'f' AND (%s OR conkey && ARRAY("
                   "  SELECT attnum FROM pg_attribute WHERE attrelid = %s::regclass AND attname = ANY(%s))) "
                   "ORDER BY conname", [table, not columns, table, list(columns)])
    return cursor.fetchall()


def _secondary_indexes(cursor, table: str, columns: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the table's indexes that back no constraint (and, when `columns`
    are named, hold one of them as a key column), by name."""
    cursor.execute("SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                   "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass "
                   "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
                   "AND (%s OR EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = x.indrelid "
                   "                   AND a.attnum = ANY(x.indkey) AND a.attname = ANY(%s))) "
                   "ORDER BY i.relname", [table, not columns, list(columns)])
    return cursor.fetchall()


def _locked_within(tables: Sequence[str], wait_ms: int) -> bool:
    """Whether `tables` could be locked (access exclusive) within `wait_ms`; when so, they stay locked for the
    rest of the transaction."""
    names = ", ".join(connection.ops.quote_name(name) for name in tables)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(wait_ms)}ms"])
            cursor.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
            cursor.execute("SET LOCAL lock_timeout = DEFAULT")
    except OperationalError:  # lock_not_available: the savepoint, and the timeout with it, are rolled back
        return False
    return True
