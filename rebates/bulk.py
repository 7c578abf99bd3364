"""Set-based inserts: PostgreSQL COPY for large batches of rows, batched bulk_create on other databases."""

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from django.db import connection

BATCH_SIZE = 5000


def insert_rows(model, columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """Insert rows given as tuples of values in `columns` order (field names): one COPY on PostgreSQL."""
    if connection.vendor == "postgresql":
        copy_lines(model, columns, (",".join(map(csv_field, row)) + "\n" for row in rows))
    else:
        bulk_insert(model, (model(**dict(zip(columns, row, strict=True))) for row in rows))


def copy_lines(model, columns: Sequence[str], csv_lines: Iterable[str]) -> None:
    """COPY ready-made CSV lines (see csv_field) into the model's table, streaming them as they come."""
    names = ", ".join(connection.ops.quote_name(model._meta.get_field(name).column) for name in columns)
    sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({names}) FROM STDIN WITH (FORMAT csv)"
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(sql, _LineReader(csv_lines), size=1 << 20)


def bulk_insert(model, objects: Iterable) -> None:
    """bulk_create in batches, so a long stream of objects never sits whole in memory."""
    batch = []
    for obj in objects:
        batch.append(obj)
        if len(batch) == BATCH_SIZE:
            model.objects.bulk_create(batch, batch_size=BATCH_SIZE)
            batch = []
    if batch:
        model.objects.bulk_create(batch, batch_size=BATCH_SIZE)


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
