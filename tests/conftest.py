import pytest
from django.db import connection

_DATABASE_SEEN = {}


def pytest_report_header(config):
    from django.conf import settings

    db = settings.DATABASES["default"]
    vendor = db["ENGINE"].rsplit(".", 1)[-1]
    where = f"{db.get('HOST') or 'local'}:{db.get('PORT') or '-'}" if "sqlite" not in vendor else db["NAME"]
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
