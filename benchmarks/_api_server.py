"""Helpers for the API benchmarks: gunicorn on loopback, an ERP user's token, timed HTTP posts."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = int(os.environ.get("BENCH_API_WORKERS", "2"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(workers: int = WORKERS):
    """gunicorn serving the app on a free loopback port with `workers` sync workers; yields the port."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": os.environ.get(
        "DJANGO_SETTINGS_MODULE", "config.settings.test"),
        # The benchmarks measure the API, not its throttle.
        "API_THROTTLE_RATE": os.environ.get("BENCH_API_THROTTLE_RATE", "1000000/min")}
    command = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", str(workers),
               "--bind", f"127.0.0.1:{port}", "--timeout", "300", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = request(port, "GET", "/api/schema/", timeout=30)
                if status == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def request(port, method, path, body: bytes | None = None, headers=None, timeout=600):
    """One HTTP request on a new connection; (status, body bytes)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def erp_token(username="bench.erp") -> str:
    """A token of an ERP integration user (created once)."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from rest_framework.authtoken.models import Token

    from customers.roles import ERP_INTEGRATION, roles_sync

    roles_sync()
    user, _ = get_user_model().objects.get_or_create(username=username)
    user.groups.add(Group.objects.get(name=ERP_INTEGRATION))
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def as_json_lines(rows) -> list[dict]:
    return [{"erp_line_id": erp, "customer": customer, "product": sku, "month": f"{month:%Y-%m}",
             "quantity": str(quantity), "unit_price": str(unit_price), "amount": str(amount)}
            for erp, customer, sku, month, quantity, unit_price, amount in rows]


def encode(lines) -> bytes:
    return json.dumps(lines, separators=(",", ":")).encode()
