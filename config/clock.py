"""The one clock of the apps: today's date and the current time, in the configured time zone.

Every "today" and "now" in customers, rebates, pricing_signals and config comes from here, so a test
pins time in one place and a calculation takes its date as an argument (`as_of=`) instead of reading
the system clock deep inside. A test (tests/test_clock.py) refuses any other direct read.
"""

import time
from datetime import date, datetime

from django.utils import timezone


def now() -> datetime:
    """The current time, time-zone aware (UTC inside; shown in TIME_ZONE)."""
    return timezone.now()


def today() -> date:
    """Today's date in the configured time zone (TIME_ZONE)."""
    return timezone.localdate(now())


def local(moment: datetime | None = None) -> datetime:
    """`moment` (default: now) in the configured time zone, for stamps printed on files and pages."""
    return timezone.localtime(moment or now())


def seconds() -> float:
    """A steady count of seconds (never set back), for how long a piece of work took; not a time of day."""
    return time.monotonic()
