import os
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from hypothesis import HealthCheck, settings

# Property tests check what the code computes, never how fast: no deadline per example, and no failure when a
# loaded machine draws examples slowly (speed is measured by `make bench`). Tests may still set their own.
settings.register_profile("rebate-desk", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("rebate-desk")

_DATABASE_SEEN = {}

# The moment every test runs at unless it says otherwise: the test scenarios' "today" (tests/pages/scenario.py),
# late November 2026, with December's settlements still to come. The clock ticks on from there.
PINNED_NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


# TEST_FAKETIME (scripts/test.sh): the machine's clock moved by this many seconds for the whole run.
FAKETIME_SECONDS = int(os.environ.get("TEST_FAKETIME_SECONDS") or 0)


def pytest_configure(config):
    if FAKETIME_SECONDS:
        # Every process the tests start runs under libfaketime with the offset. This process cannot: with
        # libfaketime loaded, Python's timed waits and sleeps (sem_clockwait, clock_nanosleep) wait for the
        # wrong deadline or fail, so it shifts its own clock with time-machine instead (see pinned_clock).
        os.environ["LD_PRELOAD"] = os.environ["TEST_FAKETIME_LIBRARY"]
        os.environ["FAKETIME"] = f"{FAKETIME_SECONDS:+d}"
        os.environ["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"  # the same reason, for the Python processes started
    config.addinivalue_line("markers", "today(day): run the test with the clock pinned to that date (YYYY-MM-DD)")
    config.addinivalue_line(
        "markers", "real_clock: the test shares time with a process it starts (a worker, a server), so it runs on "
        "the machine's clock and must not depend on the date",
    )


@pytest.fixture(autouse=True)
def pinned_clock(request):
    """Pins the clock for the test (PINNED_NOW, or the date of its `today` marker); yields the traveller, so a
    test can move on with `pinned_clock.shift(...)` or `pinned_clock.move_to(...)`."""
    if request.node.get_closest_marker("real_clock"):
        if not FAKETIME_SECONDS:
            yield None
            return
        with time_machine.travel(datetime.now(UTC) + timedelta(seconds=FAKETIME_SECONDS), tick=True) as traveller:
            yield traveller
        return
    marker = request.node.get_closest_marker("today")
    moment = PINNED_NOW
    if marker:
        moment = datetime.combine(date.fromisoformat(marker.args[0]), PINNED_NOW.timetz())
    with time_machine.travel(moment, tick=True) as traveller:
        yield traveller


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    vendor = db["ENGINE"].rsplit(".", 1)[-1]
    where = f"{db.get('HOST') or 'local'}:{db.get('PORT') or '-'}"
    return [f"database: {vendor} at {where}", f"broker: {settings.CELERY_BROKER_URL}"]


@pytest.fixture(scope="session", autouse=True)
def _record_database_server(request):
    # The pure engine's tests also run without Django (-p no:django): then there is no database to name.
    if not request.config.pluginmanager.hasplugin("django"):
        return
    request.getfixturevalue("django_db_setup")
    with request.getfixturevalue("django_db_blocker").unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                _DATABASE_SEEN["name"] = f"PostgreSQL {cursor.fetchone()[0]}"
        else:
            _DATABASE_SEEN["name"] = connection.vendor


def pytest_terminal_summary(terminalreporter):
    if _DATABASE_SEEN:
        terminalreporter.write_line(f"== tests ran on {_DATABASE_SEEN['name']}")
    # The machine's date as the suite's processes see it (shifted under TEST_FAKETIME); the tests pin their own.
    seen = datetime.now(UTC) + timedelta(seconds=FAKETIME_SECONDS)
    terminalreporter.write_line(f"== the machine's date seen by the tests: {seen:%Y-%m-%d}")


@pytest.fixture
def own_redis(tmp_path, settings, monkeypatch):
    """A redis-server of this test's own (tests/services.py), this process's cache and broker pointed at it;
    the test may stop and start it again."""
    from tests.services import RedisServer, app_on

    server = RedisServer(tmp_path)
    server.start()
    try:
        with app_on(server, settings, monkeypatch):
            yield server
    finally:
        server.stop()


@pytest.fixture(scope="session", autouse=True)
def _flush_lifts_the_ledger_truncate_guard(request):
    """Between transactional tests Django empties every table with one TRUNCATE, which the ledger's
    statement trigger refuses (R2). The teardown alone lifts it, inside the flush's own transaction; every
    test runs with the guard on."""
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush
    # The ledger's guard, and the guards of the tables it names (rebates/0035).
    guards = {"rebates_ledgerentry": "rebates_ledgerentry_no_truncate",
              **{table: "rebates_ledgered_no_truncate"
                 for table in ("rebates_rebateagreement", "rebates_accrualrun", "rebates_settlement")}}

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        if statements and "rebates_ledgerentry" in tables:
            guarded = [(table, guard) for table, guard in guards.items() if table in tables]
            return [*(f"ALTER TABLE {table} DISABLE TRIGGER {guard};" for table, guard in guarded), *statements,
                    *(f"ALTER TABLE {table} ENABLE TRIGGER {guard};" for table, guard in guarded)]
        return statements

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original
