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
def _record_database_server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                _DATABASE_SEEN["name"] = f"PostgreSQL {cursor.fetchone()[0]}"
        else:
            _DATABASE_SEEN["name"] = connection.vendor


def pytest_terminal_summary(terminalreporter):
    if _DATABASE_SEEN:
        terminalreporter.write_line(f"== tests ran on {_DATABASE_SEEN['name']}")
