"""Requests per token-authenticated user, counted in fixed windows in the shared cache.

The rate ("1200/min") comes from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["token"], which the settings
read from API_THROTTLE_RATE. Browser sessions are not counted (sign-in has its own throttle).
"""

from django.core.cache import cache
from rest_framework.authentication import TokenAuthentication
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from config import clock

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
        # add() starts the window's counter only if it is not there; incr() is atomic in Redis.
        cache.add(key, 0, timeout=seconds + 1)
        try:
            used = cache.incr(key)
        except ValueError:
            cache.add(key, 1, timeout=seconds + 1)
            used = 1
        return used <= allowed

    def wait(self):
        return getattr(self, "retry_after", None)
