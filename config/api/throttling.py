"""Requests per token-authenticated user, counted in fixed windows in the shared cache.

The rate ("1200/min") comes from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"], which the settings
read from API_THROTTLE_RATE. Browser sessions are not counted (sign-in has its own throttle).

When the shared cache (Redis) is unreachable the throttle fails open to a per-process limit: each web
process counts in its own memory (config/shared_cache.py), so the API keeps answering, each process still
refuses a client past the rate, and the whole site allows at most the rate times the number of processes
until Redis is back (docs/broker-down.md).
"""

from rest_framework.authentication import TokenAuthentication
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from config import clock
from config.shared_cache import counter_incr

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    count, period = rate.split("/")
    return int(count), PERIODS[period.strip()[0]]


class TokenRateThrottle(BaseThrottle):
    scope = "token"

    def allow_request(self, request, view):
        if not isinstance(request.successful_authenticator, TokenAuthentication):
            return True
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        if not rate:
            return True
        allowed, seconds = parse_rate(rate)
        now = clock.now().timestamp()
        window = int(now // seconds)
        self.retry_after = (window + 1) * seconds - now
        key = f"api-throttle:{self.scope}:{request.user.pk}:{seconds}:{window}"
        return counter_incr(key, timeout=seconds + 1) <= allowed

    def wait(self):
        return getattr(self, "retry_after", None)
