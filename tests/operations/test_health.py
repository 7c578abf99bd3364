"""/health/live and /health/ready: JSON, no sign-in, nothing but each check's name and state; ready turns
unready when its PostgreSQL or its Redis goes."""

import json

import pytest
from django.db import connection
from django.test import Client

from operations.services import heartbeat_record
from tests.services import postgres_ctl

CHECKS = {"database", "broker", "migrations", "worker"}


def get(path):
    response = Client(raise_request_exception=False).get(path)
    return response.status_code, json.loads(response.content)


def test_live_answers_without_signing_in():
    assert get("/health/live") == (200, {"status": "ok"})


@pytest.mark.django_db
def test_ready_with_database_broker_migrations_and_a_worker_seen(own_redis):
    heartbeat_record(name="worker")
    assert get("/health/ready") == (200, {"status": "ok", "checks": dict.fromkeys(CHECKS, "ok")})


@pytest.mark.django_db
def test_unready_until_a_worker_ran_the_minute_check(own_redis, pinned_clock):
    status, body = get("/health/ready")
    assert status == 503 and body["checks"]["worker"] == "failing"
    heartbeat_record(name="worker")
    assert get("/health/ready")[0] == 200


@pytest.mark.django_db
def test_unready_when_redis_is_stopped_and_ready_again_when_it_is_back(own_redis):
    heartbeat_record(name="worker")
    own_redis.stop()
    status, body = get("/health/ready")
    assert status == 503
    assert body == {"status": "unready", "checks": {"database": "ok", "broker": "failing", "migrations": "ok",
                                                    "worker": "ok"}}
    own_redis.start()
    assert get("/health/ready")[0] == 200


@pytest.mark.django_db(transaction=True)
def test_unready_when_postgresql_is_stopped_and_ready_again_when_it_is_back(own_redis):
    heartbeat_record(name="worker")
    assert get("/health/ready")[0] == 200
    pg_ctl = postgres_ctl()
    connection.close()
    pg_ctl("stop", "--mode", "fast", "--wait")
    try:
        status, body = get("/health/ready")
        live = get("/health/live")
    finally:
        connection.close()
        pg_ctl("start", "--wait")
    assert status == 503
    assert body == {"status": "unready", "checks": {"database": "failing", "broker": "ok", "migrations": "failing",
                                                    "worker": "failing"}}
    assert live == (200, {"status": "ok"})  # the process itself still answers
    assert get("/health/ready")[0] == 200
