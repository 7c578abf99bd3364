"""One clock: every "today" and "now" outside the tests comes from config/clock.py.

A grep over the code: a new direct read of the system clock (date.today(), timezone.now(), time.time(), ...)
fails here, naming its file and line. Elapsed-time counters (time.monotonic, time.perf_counter) measure
durations, not dates, and stay allowed; Django's auto_now fields stamp rows through timezone.now, which the
tests pin with everything else.
"""

import re
from datetime import date, datetime
from pathlib import Path

from config import clock

ROOT = Path(__file__).resolve().parent.parent
SKIPPED_DIRS = {".venv", ".git", "tests", "migrations", "node_modules", "staticfiles", "var", "media", "__pycache__"}
ALLOWED = {Path("config/clock.py")}
DIRECT_READS = re.compile(
    r"\bdate\.today\(|\bdatetime\.(?:now|today|utcnow)\(|\btimezone\.now\b|\btimezone\.local(?:date|time)\(\)"
    r"|=\s*timezone\.localdate\b|\btime\.(?:time|localtime|gmtime|ctime)\(|\bfrom time import (?:time|localtime)\b"
)


def python_files():
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if not SKIPPED_DIRS.intersection(relative.parts[:-1]) and relative not in ALLOWED:
            yield relative


def direct_clock_reads():
    for relative in python_files():
        for number, line in enumerate((ROOT / relative).read_text().splitlines(), start=1):
            if DIRECT_READS.search(line.split("#", 1)[0]):
                yield f"{relative}:{number}: {line.strip()}"


def test_nothing_but_the_clock_module_reads_the_system_clock():
    assert list(direct_clock_reads()) == []


def test_the_scan_sees_the_apps_and_would_catch_a_direct_read():
    scanned = {str(path) for path in python_files()}
    assert {"rebates/services/accrual.py", "pricing_signals/views.py", "customers/models.py"} <= scanned
    for line in ("as_of = date.today()", "now = timezone.now()", "d = timezone.localdate()", "t = time.time()",
                 "initial=timezone.localdate", "stamp = datetime.now(tz)"):
        assert DIRECT_READS.search(line), line
    for line in ("began = time.monotonic()", "clock.today()", "timezone.localdate(job.created_at)"):
        assert not DIRECT_READS.search(line), line


def test_the_clock_reads_the_pinned_time_in_the_configured_zone(settings):
    # The suite pins every test to PINNED_NOW (tests/conftest.py) unless it says otherwise.
    assert clock.today() == date(2026, 11, 23)
    assert clock.now().tzinfo is not None
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: already the next day there
    assert clock.today() == date(2026, 11, 24)
    assert isinstance(clock.local(), datetime) and clock.local().utcoffset().total_seconds() == 14 * 3600
