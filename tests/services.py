"""A Redis and a Celery worker of a test's own, as real processes it can stop, kill and start again.

The app in the test process is pointed at that Redis (its cache and its Celery broker), so stopping it is a
real outage, not a mocked call; workers run as subprocesses in their own process group against the test
database, so a test can SIGKILL a whole worker.
"""

import glob
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import redis
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
# Redis hangs under libfaketime (README, "Time in the tests"): it runs on the machine's clock.
_NOT_FOR_REDIS = ("LD_PRELOAD", "FAKETIME", "FAKETIME_DONT_FAKE_MONOTONIC")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, timeout=60.0, every=0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


class RedisServer:
    """redis-server on a free loopback port, in memory only (a restart starts empty, as a lost Redis does)."""

    def __init__(self, directory: Path):
        self.port = free_port()
        self.directory = directory
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def ping(self) -> bool:
        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.RedisError:
            return False

    def start(self) -> None:
        environment = {k: v for k, v in os.environ.items() if k not in _NOT_FOR_REDIS}
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        assert wait_for(self.ping, timeout=20), "redis-server did not start"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)
        self.process = None
        assert not self.ping()


def database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class CeleryWorker:
    """`celery worker` (prefork, one child) in a process group of its own, on the test database and `broker`."""

    def __init__(self, broker: RedisServer, log: Path, **env):
        self.broker, self.log, self.env, self.process = broker, log, env, None

    def start(self) -> "CeleryWorker":
        environment = {**os.environ, "DATABASE_URL": database_url(), "DJANGO_SETTINGS_MODULE": "config.settings.test",
                       "CELERY_BROKER_URL": self.broker.url, "REDIS_URL": self.broker.url, **self.env}
        self.log.write_text("")
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config.celery_app", "worker", "--pool", "prefork",
                 "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
                 "--without-heartbeat"],
                cwd=ROOT, env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        assert wait_for(lambda: " ready." in self.log.read_text() or self.process.poll() is not None, 60), \
            self.log.read_text()[-3000:]
        assert self.process.poll() is None, self.log.read_text()[-3000:]
        return self

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children, mid-task."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def app_on(server: RedisServer, settings, monkeypatch):
    """Point this process's cache and Celery broker at `server` for the duration."""
    from config import shared_cache
    from config.celery_app import app

    cache = dict(settings.CACHES["default"])
    cache.update(BACKEND="django.core.cache.backends.redis.RedisCache", LOCATION=server.url,
                 OPTIONS={"socket_connect_timeout": 1, "socket_timeout": 1})
    settings.CACHES = {"default": cache}  # Django's test signal drops the cache connections
    settings.CELERY_BROKER_URL = server.url
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", server.url)
    previous = app.conf.broker_url
    app.conf.broker_url = server.url
    _drop_broker_connections(app)
    try:
        yield
    finally:
        app.conf.broker_url = previous
        _drop_broker_connections(app)
        shared_cache.local_counters_clear()


def _drop_broker_connections(app):
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None


def postgres_ctl():
    """A function that runs pg_ctl on the tests' own PostgreSQL server ("stop", "--mode", "fast", "--wait"; "start",
    "--wait"), so a test can stop the real database under the app and start it again."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        data = cursor.fetchone()[0]
        cursor.execute("SHOW server_version_num")
        major = int(cursor.fetchone()[0]) // 10000
    return _pg_ctl_at(data, major)


def _pg_ctl_at(data, major):
    binary = (glob.glob(f"/usr/lib/postgresql/{major}/bin/pg_ctl") or glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))[0]
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def run(*args):
        # The cluster's own folder is writable by its owner: pg_ctl writes its log there.
        log = ["--log", os.path.join(os.path.dirname(data), "postgres-restarted.log")] if "start" in args else []
        # The server keeps the machine's clock, as it was first started (TEST_FAKETIME shifts the tests only).
        env = {name: value for name, value in os.environ.items() if not name.startswith(("LD_PRELOAD", "FAKETIME"))}
        subprocess.run([*as_postgres, binary, "--pgdata", data, *args, *log], check=True, cwd=os.path.dirname(data),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, env=env)

    return run
