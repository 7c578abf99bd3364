"""The sign-in throttle, one rule for the app's sign-in and the admin's (R19).

Failed attempts are counted per account (the user name as typed, whether or not such a user exists, so the
answer never tells which names are real) and per address. An account is refused after
SIGN_IN_MAX_ATTEMPTS failures, an address after SIGN_IN_ADDRESS_MAX_ATTEMPTS: the address limit is higher, so
one person's mistakes (or a guesser) behind a shared proxy lock only the account they type, while a spray
over many accounts from one address is still slowed. A lock lasts SIGN_IN_WINDOW_SECONDS from the failure
that set it. Counts live in the shared cache, reached only through `_cache`; with Redis away they are kept
in this process (config/shared_cache.py), so sign-in keeps answering and stays limited.
"""

import hashlib
import math
from dataclasses import dataclass

from django.conf import settings

from config import clock
from config.shared_cache import shared_cache_call


@dataclass(frozen=True)
class _Counter:
    key: str
    limit: int


def _cache(method: str, *args, **kwargs):
    """Every call the throttle makes to the shared cache goes through here."""
    return shared_cache_call(method, *args, **kwargs)


def _counters(username: str, address: str) -> tuple[_Counter, _Counter]:
    # Hashed: any text a visitor types makes a short, safe cache key; case and spaces do not start a new count.
    account = hashlib.sha256((username or "").strip().casefold().encode("utf-8", "replace")).hexdigest()
    return (_Counter(f"sign-in:account:{account}", settings.SIGN_IN_MAX_ATTEMPTS),
            _Counter(f"sign-in:address:{address or '-'}", settings.SIGN_IN_ADDRESS_MAX_ATTEMPTS))


def sign_in_wait_minutes(*, username: str, address: str) -> int:
    """Minutes until this account may try again from this address: 0 when it may try now."""
    now = clock.now().timestamp()
    window = settings.SIGN_IN_WINDOW_SECONDS
    wait = 0.0
    for counter in _counters(username, address):
        if (_cache("get", counter.key) or 0) >= counter.limit:
            until = _cache("get", f"{counter.key}:until")
            wait = max(wait, (until - now) if until is not None else window, 1)
    return math.ceil(wait / 60)


def sign_in_failure_record(*, username: str, address: str) -> None:
    """Count one failed sign-in against the account and the address; the one that reaches its limit is
    locked for a whole window from now."""
    window = settings.SIGN_IN_WINDOW_SECONDS
    for counter in _counters(username, address):
        _cache("add", counter.key, 0, timeout=window)
        try:
            count = _cache("incr", counter.key)
        except ValueError:  # the count expired between add and incr
            count = 1
            _cache("set", counter.key, count, timeout=window)
        if count >= counter.limit:
            _cache("set", counter.key, count, timeout=window)
            _cache("set", f"{counter.key}:until", clock.now().timestamp() + window, timeout=window)


def sign_in_success_record(*, username: str, address: str) -> None:
    """A right password clears the account's failures (the address keeps its count)."""
    account, _address = _counters(username, address)
    _cache("delete_many", [account.key, f"{account.key}:until"])
