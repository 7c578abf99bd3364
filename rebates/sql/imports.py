"""The file imports' SQL: a batch's progress written through a connection of its own, and the session lock
that lets one worker at a time import a batch."""

from contextlib import contextmanager

from django.db import connection, connections

from rebates.models import ImportBatch

# The first key of the batches' advisory locks (the second is the batch id).
IMPORT_LOCK = 7_310_007

_PROGRESS_SQL = f"UPDATE {ImportBatch._meta.db_table} SET progress = %s WHERE id = %s"


@contextmanager
def batch_progress_writer():
    """Yields `write(batch_id, percent)`, which stores a batch's progress through a connection of its own, in
    autocommit, so pollers see it while the ingest's transaction is still open. The connection is closed on
    leaving."""
    side = connections.create_connection("default")

    def write(batch_id: int, percent: int) -> None:
        with side.cursor() as cursor:
            cursor.execute(_PROGRESS_SQL, [percent, batch_id])

    try:
        yield write
    finally:
        side.close()


@contextmanager
def batch_import_lock(batch_id: int):
    """Yields whether this session holds the batch's import lock: a PostgreSQL session-level advisory lock,
    tried and not waited for. A lock taken is released on leaving, or when the connection dies with a killed
    worker."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [IMPORT_LOCK, batch_id])
        locked = cursor.fetchone()[0]
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [IMPORT_LOCK, batch_id])
