"""A database of its own for the Excel benchmarks: created and migrated from the one in DATABASE_URL, dropped
at the end. The ledger is append-only, so the benchmark's 250,000 rows never land in the shared database."""

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent


def _admin_connection(url):
    import psycopg2

    parts = urlsplit(url)
    connection = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username,
                                  password=parts.password or None, dbname="postgres")
    connection.autocommit = True
    return connection


@contextmanager
def excel_database(suffix):
    """Yields the environment (DATABASE_URL and the rest) of a fresh, migrated database."""
    url = os.environ["DATABASE_URL"]
    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/')}_{suffix}"
    bench_url = urlunsplit(parts._replace(path=f"/{name}"))
    admin = _admin_connection(url)
    with admin.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    env = {**os.environ, "DATABASE_URL": bench_url, "PYTHONPATH": str(ROOT),
           "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.test")}
    try:
        began = time.monotonic()
        run([str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], env)
        print(f"benchmark database {name} migrated in {time.monotonic() - began:.0f} s")
        yield env
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def run(args, env, *, parse_json=False):
    """Run a Python script in a process of its own; with parse_json, its last line as JSON."""
    import json

    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(str(a) for a in args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]) if parse_json else done.stdout


def peak_mb():
    """This process's peak resident size in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
