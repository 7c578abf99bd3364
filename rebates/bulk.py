"""Set-based inserts: PostgreSQL COPY for large batches of rows."""

from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from datetime import date, datetime

from django.db import OperationalError, connection, transaction

BATCH_SIZE = 5000


def insert_rows(model, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert rows given as tuples of values in `columns` order (field names): one COPY."""
    copy_lines(model, columns, (",".join(map(csv_field, row)) + "\n" for row in rows))


def copy_lines(model, columns: Sequence[str], csv_lines: Iterable[str]) -> None:
    """COPY ready-made CSV lines (see csv_field) into the model's table, streaming them as they come."""
    names = ", ".join(connection.ops.quote_name(model._meta.get_field(name).column) for name in columns)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN WITH (FORMAT csv)"
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(sql, _LineReader(csv_lines), size=1 << 20)


@contextmanager
def indexes_rebuilt_after(table: str, *, rows_written: int, share: float = 1.0, columns: Sequence[str] = (),
                          lock_wait_ms: int | None = None):
    """Write many rows without the table's secondary indexes and foreign keys, then put them back as they were.

    Building an index once and checking a foreign key with one query is far cheaper than maintaining every
    index and checking keys row by row for a million rows. Indexes behind a constraint (the primary key,
    unique keys) stay. Only the foreign keys on `columns` go (all of them when none are named: a load),
    since an UPDATE checks only the keys it changes. It all happens in a savepoint of the caller's
    transaction (one is required), so a failure leaves the table as it was.

    The table (and the tables its dropped keys name) is locked against other writers and readers meanwhile.
    With `lock_wait_ms`, that lock is waited for that long at most: when others hold the table longer, the
    indexes are kept and the rows written through them instead. Also kept when fewer than `share` times the
    table's rows are written, as rebuilding would then cost more.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("indexes_rebuilt_after needs a transaction: dropped indexes must never be committed")
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {quote(table)}")  # exact: statistics may be stale or missing
        if rows_written < cursor.fetchone()[0] * share:
            yield
            return
        cursor.execute("SELECT conname, pg_get_constraintdef(oid), confrelid::regclass::text FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype = 'f' AND (%s OR conkey && ARRAY("
                       "  SELECT attnum FROM pg_attribute WHERE attrelid = %s::regclass AND attname = ANY(%s))) "
                       "ORDER BY conname", [table, not columns, table, list(columns)])
        rows = cursor.fetchall()
        foreign_keys = [(name, definition) for name, definition, _ in rows]
        locked = ", ".join(quote(name) for name in dict.fromkeys([table, *(row[2] for row in rows)]))
        cursor.execute("SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                       "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass "
                       "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) "
                       "ORDER BY i.relname", [table])
        indexes = cursor.fetchall()
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
            cursor.execute(definition)
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {quote(table)} ADD CONSTRAINT {quote(name)} {definition}")


def _locked_within(tables: str, wait_ms: int) -> bool:
    """Lock `tables` (quoted, comma-separated) for the rest of the transaction, waiting `wait_ms` at most."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{int(wait_ms)}ms'")
            cursor.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
            cursor.execute("SET LOCAL lock_timeout = DEFAULT")
    except OperationalError:  # lock_not_available: the savepoint, and the timeout with it, are rolled back
        return False
    return True


def csv_field(value) -> str:
    """One CSV field for COPY: an empty unquoted field is NULL, text is quoted."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


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
