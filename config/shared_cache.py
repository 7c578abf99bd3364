"""Counters in the shared cache (Redis) that fail open to this process's memory when the cache is away.

Throttles (the API's requests per token, sign-in attempts) count in the shared cache so every web process
sees the same figure. When Redis cannot be reached, a throttle must not turn every request into a 500:
the counter falls back to a cache local to this process, so limits still hold per process (looser by the
number of processes) until Redis is back. The choice is written down in docs/broker-down.md.
"""

import logging

from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# What "the shared cache is unreachable" looks like: redis-py's errors and the socket's own.
CACHE_UNREACHABLE = (RedisError, OSError)

_local = LocMemCache("shared-cache-fallback", {"OPTIONS": {"MAX_ENTRIES": 100_000}})


def _unreachable(action: str, key: str, error: Exception) -> None:
    logger.warning("shared cache unreachable (%s %s: %s); counting in this process", action, key, error)


def shared_cache_call(method: str, *args, **kwargs):
    """One call to the shared cache (`cache.<method>(*args, **kwargs)`), made on this process's memory
    instead when the cache is away. The sign-in throttle counts through this."""
    try:
        return getattr(cache, method)(*args, **kwargs)
    except CACHE_UNREACHABLE as error:
        _unreachable(method, str(args[0]) if args else "", error)
        return getattr(_local, method)(*args, **kwargs)


def counter_get(key: str) -> int:
    """The counter's value (0 when absent): from the shared cache, or this process's when it is away."""
    try:
        return cache.get(key) or 0
    except CACHE_UNREACHABLE as error:
        _unreachable("get", key, error)
        return _local.get(key) or 0


def counter_incr(key: str, *, timeout: int) -> int:
    """Add one to the counter and return it; a new counter lives `timeout` seconds (a fixed window)."""
    try:
        return _incr(cache, key, timeout)
    except CACHE_UNREACHABLE as error:
        _unreachable("incr", key, error)
        return _incr(_local, key, timeout)


def _incr(store, key: str, timeout: int) -> int:
    # add() starts the window only if it is not there; incr() is atomic in Redis.
    store.add(key, 0, timeout=timeout)
    try:
        return store.incr(key)
    except ValueError:  # expired between the two calls
        store.add(key, 1, timeout=timeout)
        return 1


def local_counters_clear() -> None:
    """Forget the counts kept in this process while the cache was away (tests)."""
    _local.clear()
