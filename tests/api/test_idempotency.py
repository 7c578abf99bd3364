"""Idempotency-Key (R10): a resend gets the first answer; ten at once store once and answer alike."""

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections

from config import clock
from config.api.idempotency import _lock_id
from rebates.api.models import IdempotencyKey
from rebates.models import ImportBatch, PurchaseLine
from tests.api.conftest import client_for, line

URL = "/api/v1/purchases/"
BATCH = [line(f"L{i}", quantity=str(i + 1), amount=f"{(i + 1) * 12.1:.2f}") for i in range(50)]


def post(client, body, key):
    return client.post(URL, data=json.dumps(body), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key)


def test_same_key_and_body_three_times_in_a_row_stores_once_and_answers_alike(erp, scenario):
    answers = [post(erp, BATCH, "batch-1") for _ in range(3)]
    assert {a.status_code for a in answers} == {200}
    assert answers[0].content == answers[1].content == answers[2].content
    assert json.loads(answers[0].content)["created"] == 50
    assert "Idempotent-Replayed" not in answers[0] and answers[1]["Idempotent-Replayed"] == "true"
    assert PurchaseLine.objects.count() == 50
    assert ImportBatch.objects.count() == 1


def test_same_key_with_another_body_is_refused_and_writes_nothing(erp, scenario):
    post(erp, BATCH, "batch-1")
    response = post(erp, [line("OTHER")], "batch-1")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert not PurchaseLine.objects.filter(erp_line_id="OTHER").exists()


def test_a_rejected_batch_is_answered_again_the_same_way(erp, scenario):
    bad = [line("L1", customer="NOPE")]
    first, second = post(erp, bad, "bad-1"), post(erp, bad, "bad-1")
    assert first.status_code == second.status_code == 400
    assert first.content == second.content


def test_keys_belong_to_their_user(users, erp, scenario):
    post(erp, BATCH, "batch-1")
    admin = client_for(users["administrator"])
    response = post(admin, [line("ADMIN-1")], "batch-1")
    assert response.status_code == 200 and response.json()["created"] == 1


def test_a_key_older_than_a_day_counts_as_new(erp, scenario):
    post(erp, BATCH, "batch-1")
    IdempotencyKey.objects.update(created_at=clock.now() - timedelta(hours=25))
    response = post(erp, [line("L-NEW")], "batch-1")
    assert response.status_code == 200 and response.json()["created"] == 1
    assert IdempotencyKey.objects.count() == 1


def test_an_empty_or_overlong_key_is_refused(erp, scenario):
    assert post(erp, BATCH, " ").status_code == 400
    assert post(erp, BATCH, "k" * 256).status_code == 400
    assert PurchaseLine.objects.count() == 0


def _post_in_thread(token_client, body, key, answers, index, start):
    try:
        start.wait()
        answers[index] = post(token_client, body, key)
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_ten_identical_requests_at_once_store_once_and_answer_alike(users, scenario):
    clients = [client_for(users["erp"]) for _ in range(10)]
    answers, start = [None] * 10, threading.Barrier(10)
    threads = [threading.Thread(target=_post_in_thread, args=(clients[i], BATCH, "at-once", answers, i, start))
               for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.content for answer in answers}) == 1
    assert json.loads(answers[0].content)["created"] == 50
    assert PurchaseLine.objects.count() == 50
    assert ImportBatch.objects.count() == 1
    assert IdempotencyKey.objects.get().status == IdempotencyKey.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_ten_identical_batches_at_once_without_a_key_store_each_line_once(users, scenario):
    clients = [client_for(users["erp"]) for _ in range(10)]
    answers, start = [None] * 10, threading.Barrier(10)

    def send(i):
        try:
            start.wait()
            answers[i] = clients[i].post(URL, data=json.dumps(BATCH), content_type="application/json")
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {answer.status_code for answer in answers} == {200}
    assert sum(answer.json()["created"] for answer in answers) == 50
    assert PurchaseLine.objects.count() == 50


@pytest.mark.django_db(transaction=True)
def test_another_body_while_the_first_is_in_flight_gets_409_then_the_first_answer_holds(users, scenario):
    erp = client_for(users["erp"])
    post(erp, [line("L1")], "setup")
    # Hold line L1 from another connection, so the first request with key "k" waits in flight.
    holder = connections.create_connection("default")
    holder.set_autocommit(False)
    with holder.cursor() as cursor:
        cursor.execute("SELECT id FROM rebates_purchaseline WHERE erp_line_id = 'L1' FOR UPDATE")
    first_body = [line("L1", quantity="11", amount="133.10")]
    answers = {}

    def first():
        try:
            answers["first"] = post(client_for(users["erp"]), first_body, "k")
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        with connection.cursor() as cursor:
            for _ in range(500):
                cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s",
                               [_lock_id(users["erp"].pk, "k") & 0xFFFFFFFF])
                if cursor.fetchone()[0] and IdempotencyKey.objects.filter(key="k").exists():
                    break
                threading.Event().wait(0.02)
        conflict = post(client_for(users["erp"]), [line("L2")], "k")
    finally:
        holder.rollback()
        holder.close()
        thread.join()
    assert conflict.status_code == 409 and conflict.json()["code"] == "conflict"
    assert answers["first"].status_code == 200 and answers["first"].json()["updated"] == 1
    assert not PurchaseLine.objects.filter(erp_line_id="L2").exists()
    replay = post(client_for(users["erp"]), first_body, "k")
    assert replay.content == answers["first"].content


def test_a_resend_that_waits_longer_than_allowed_for_the_first_gets_409(erp, scenario, users, monkeypatch):
    monkeypatch.setattr("config.api.idempotency.WAIT_SECONDS", 1)
    # Another session holds the key's lock (the first request, still at work) past the wait.
    holder = connections.create_connection("default")
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [_lock_id(users["erp"].pk, "slow")])
        answer = post(erp, BATCH, "slow")
    finally:
        holder.close()
    assert answer.status_code == 409 and answer.json()["code"] == "conflict"
    assert not PurchaseLine.objects.exists()
    # Once the first is gone, the resend is carried out.
    assert post(erp, BATCH, "slow").status_code == 200


@pytest.mark.django_db
def test_the_keys_live_with_the_api_in_the_rebates_table_with_no_migration_pending():
    from io import StringIO

    from django.apps import apps
    from django.core.management import call_command

    assert IdempotencyKey.__module__ == "rebates.api.models"
    assert apps.get_model("rebates", "IdempotencyKey") is IdempotencyKey
    assert IdempotencyKey._meta.db_table == "rebates_idempotencykey"
    out = StringIO()
    call_command("makemigrations", "rebates", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
