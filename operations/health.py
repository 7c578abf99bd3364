"""Readiness: can this web process do its work now? Each check answers ok or not, with no data in it."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor

from config import clock
from config.celery_app import broker_queue_length
from operations.models import Heartbeat

logger = logging.getLogger(__name__)
_migrated = False


def database() -> bool:
    try:
        connection.ensure_connection()
        if connection.is_usable():
            return True
    except DatabaseError:
        pass
    connection.close_if_unusable_or_obsolete()
    return False


def migrations() -> bool:
    """Every migration of the code is applied (remembered once true: they are never taken back while it runs)."""
    global _migrated
    if not _migrated:
        executor = MigrationExecutor(connection)
        _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _migrated


def broker() -> bool:
    try:
        broker_queue_length()
    except Exception:  # any refusal: nothing can be queued
        return False
    return True


def worker() -> bool:
    """A worker ran the minute check within OPERATIONS_WORKER_SEEN_SECONDS."""
    cutoff = clock.now() - timedelta(seconds=settings.OPERATIONS_WORKER_SEEN_SECONDS)
    return Heartbeat.objects.filter(name="worker", seen_at__gte=cutoff).exists()


def readiness() -> dict[str, bool]:
    checks = {"database": database(), "broker": broker()}
    # Without the database, the migrations and the worker cannot be known: both count as not ready.
    checks["migrations"] = checks["database"] and _safely(migrations)
    checks["worker"] = checks["database"] and _safely(worker)
    return checks


def _safely(check) -> bool:
    try:
        return check()
    except DatabaseError:
        logger.warning("readiness check failed", extra={"check": check.__name__})
        return False
