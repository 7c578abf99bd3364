"""Raw SQL of the project-wide code (config): named functions, parameters bound; nothing else in config
calls cursor.execute. Here: PostgreSQL session-level advisory locks."""

from django.db import DatabaseError, connection, transaction

LOCK_NOT_AVAILABLE = "55P03"


def advisory_lock_try(lock_id: int) -> bool:
    """Whether this session took the session-level advisory lock `lock_id` (a bigint) without waiting: False
    when another session holds it. A lock taken lasts until `advisory_unlock` or the end of the session."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [lock_id])
        return cursor.fetchone()[0]


def advisory_lock_wait(lock_id: int, *, seconds: int) -> bool:
    """Whether this session took the session-level advisory lock `lock_id`, waiting `seconds` at most for
    the session that holds it: False when the wait ran out. Other database errors are raised. The lock
    outlives the transaction; a transaction (savepoint) only bounds the wait."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(seconds)}s"])
            cursor.execute("SELECT pg_advisory_lock(%s)", [lock_id])
    except DatabaseError as exc:
        if _sqlstate(exc) == LOCK_NOT_AVAILABLE:
            return False
        raise
    return True


def advisory_unlock(lock_id: int) -> None:
    """Release this session's advisory lock `lock_id`. Returns None, also when the connection is gone (its
    session locks went with it)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [lock_id])
    except DatabaseError:
        pass


def _sqlstate(error: DatabaseError) -> str | None:
    """The SQLSTATE of the driver's error behind Django's (psycopg2 calls it `pgcode`)."""
    return getattr(getattr(error, "__cause__", None), "pgcode", None)
