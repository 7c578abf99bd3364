"""R8 Broker down (docs/reliability.md): with a real Redis stopped, the API and the web app keep answering
(token calls, sign-in, claims, purchases, uploads, exports, runs), and what was queued meanwhile is done
once Redis is back and the sweeper has run. Nothing is mocked: the test stops its own redis-server."""

import json
import uuid

import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers import roles
from pricing_signals.models import PriceClaim
from pricing_signals.services import waiting_work_requeue
from rebates.models import AccrualRun, ExportJob, ImportBatch, PurchaseLine
from tests.factories import PASSWORD, UserFactory
from tests.pages.scenario import build as build_scenario
from tests.services import CeleryWorker, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.real_clock]

UPLOAD = (b"erp_line_id,customer,product,month,quantity,unit_price,amount\n"
          b"OUT-1,SEED-001,FAS-101,2026-11,2,12.10,24.20\n")


def api_as(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def post_json(client, url, body, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", headers=headers)


def outage_requests(scenario, erp) -> dict[str, int]:
    """Every kind of request the outage must not break, with the status each answered."""
    answers = {}
    for n in range(3):
        answers[f"api: list customers #{n + 1}"] = api_as(erp).get("/api/v1/customers/").status_code
    answers["api: post purchases"] = post_json(api_as(erp), "/api/v1/purchases/", [
        {"erp_line_id": "OUT-API-1", "customer": "SEED-001", "product": "FAS-101", "month": "2026-11",
         "quantity": "4", "unit_price": "12.10", "amount": "48.40"}], **{"Idempotency-Key": str(uuid.uuid4())}
    ).status_code
    answers["api: record a claim"] = post_json(api_as(scenario["am"]), "/api/v1/price-claims/", {
        "customer": "SEED-001", "product": "FAS-101", "competitor": "Apex Supply", "claimed_unit_price": "11.40",
        "reported_on": "2026-11-20", "channel": "call"}).status_code
    answers["api: start a run"] = post_json(api_as(scenario["finance"]), "/api/v1/accrual-runs/",
                                            {"as_of": "2026-11-30"}).status_code

    browser = Client(raise_request_exception=False)
    answers["sign-in: wrong password"] = browser.post(
        "/accounts/login/", {"username": "am.north", "password": "wrong"}).status_code
    answers["sign-in"] = browser.post("/accounts/login/", {"username": "am.north", "password": PASSWORD}).status_code
    answers["page: log a claim"] = browser.post("/claims/new/", {
        "customer": "C-1002", "product": "FAS-101", "competitor": "Apex Supply", "claimed_unit_price": "11.42",
        "reported_on": "2026-11-21", "channel": "visit"}).status_code
    finance = Client(raise_request_exception=False)
    answers["sign-in: finance"] = finance.post(
        "/accounts/login/", {"username": "finance", "password": PASSWORD}).status_code
    answers["page: upload a purchase file"] = finance.post(
        "/imports/", {"file": SimpleUploadedFile("outage.csv", UPLOAD)}).status_code
    answers["page: background export"] = finance.post("/exports/", {"report": "accruals", "format": "csv"}).status_code
    return answers


def test_with_redis_stopped_nothing_answers_500_and_queued_work_is_done_once_it_is_back(own_redis, settings,
                                                                                         tmp_path):
    scenario = build_scenario()
    erp = UserFactory(username="erp", role=roles.ERP_INTEGRATION)
    settings.EXCEL_EXPORT_INLINE_ROWS = 0  # every export runs in the background, through the broker
    claims_before = set(PriceClaim.objects.values_list("pk", flat=True))

    own_redis.stop()
    answers = outage_requests(scenario, erp)

    assert [name for name, status in answers.items() if status >= 500] == [], answers
    assert answers == {
        "api: list customers #1": 200, "api: list customers #2": 200, "api: list customers #3": 200,
        "api: post purchases": 200, "api: record a claim": 201, "api: start a run": 202,
        "sign-in: wrong password": 200, "sign-in": 302, "page: log a claim": 302, "sign-in: finance": 302,
        "page: upload a purchase file": 302, "page: background export": 302,
    }
    # Everything was saved, waiting for a worker.
    assert PurchaseLine.objects.filter(erp_line_id="OUT-API-1").exists()
    new_claims = PriceClaim.objects.exclude(pk__in=claims_before)
    # The page checks its claim at once; the API's waits for its queued check.
    assert dict(new_claims.values_list("channel", "check_pending")) == {"visit": False, "call": True}
    run = AccrualRun.objects.get(trigger="api")
    batch = ImportBatch.objects.get(file_name="outage.csv")
    job = ExportJob.objects.get()
    assert (run.status, batch.status, job.status) == ("queued", "pending", "queued")

    # Redis comes back empty (its messages were never sent, the seed run's value and risk refresh among them);
    # a worker starts; the sweeper runs once.
    own_redis.start()
    assert api_as(erp).get("/api/v1/customers/").status_code == 200
    assert redis.Redis.from_url(own_redis.url).keys("*api-throttle*")  # counted in Redis again
    worker = CeleryWorker(own_redis, tmp_path / "worker.log").start()
    try:
        settings.QUEUED_WORK_REQUEUE_SECONDS = 0
        queued = waiting_work_requeue()
        assert queued == {"accrual_chunks": 0, "accrual_runs": 1, "import_previews": 1, "import_commits": 0,
                          "exports": 1, "outlooks": 0, "values": 1, "claim_checks": 1}

        def all_done():
            run.refresh_from_db()
            batch.refresh_from_db()
            job.refresh_from_db()
            return (run.status == "succeeded" and batch.status == "previewed" and job.status == "done"
                    and not new_claims.filter(check_pending=True).exists())

        assert wait_for(all_done, timeout=60, every=0.2), (run.status, batch.status, job.status,
                                                           worker.log.read_text()[-3000:])
    finally:
        worker.stop()
    assert batch.line_count == 1 and batch.created_count == 1
    assert job.file and job.rows_done > 0
    # The sweeper again finds nothing left to queue.
    assert not any(waiting_work_requeue().values())


def test_with_redis_stopped_the_api_throttle_and_the_sign_in_lockout_still_hold_in_each_process(own_redis,
                                                                                                  settings):
    erp = UserFactory(username="erp", role=roles.ERP_INTEGRATION)
    UserFactory(username="am.north", role=roles.ACCOUNT_MANAGER)
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "3/min"}}
    settings.SIGN_IN_MAX_ATTEMPTS = 2
    own_redis.stop()

    assert [api_as(erp).get("/api/v1/customers/").status_code for _ in range(4)] == [200, 200, 200, 429]
    browser = Client(raise_request_exception=False)
    wrong = [browser.post("/accounts/login/", {"username": "am.north", "password": "wrong"}) for _ in range(2)]
    right = browser.post("/accounts/login/", {"username": "am.north", "password": PASSWORD})
    assert [answer.status_code for answer in wrong] == [200, 200]
    assert right.status_code == 200 and "Too many sign-in attempts" in right.content.decode()
