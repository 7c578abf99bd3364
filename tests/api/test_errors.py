"""One JSON error shape for every error status; the database going away answers 503 (R9)."""

import json
import threading
import time

import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from rebates.models import PurchaseLine
from tests.api.conftest import client_for, line
from tests.services import postgres_ctl

SHAPE = {"status", "code", "message", "details"}


def assert_error(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == SHAPE and (body["status"], body["code"]) == (status, code), body
    assert "Traceback" not in response.content.decode()
    return body


def test_no_credentials_is_401_with_the_token_challenge(scenario):
    response = APIClient().get("/api/v1/customers/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_401(scenario):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error(client.get("/api/v1/customers/"), 401, "not_authenticated")


def test_a_role_without_the_permission_is_403(users, scenario):
    response = client_for(users["account_manager"]).post("/api/v1/purchases/", data=json.dumps(line()),
                                                         content_type="application/json")
    assert_error(response, 403, "permission_denied")
    assert PurchaseLine.objects.count() == 0


def test_unknown_rows_and_paths_are_404(erp, scenario):
    assert_error(erp.get("/api/v1/customers/NOPE/"), 404, "not_found")
    assert_error(erp.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_a_method_the_endpoint_has_not_is_405(erp, scenario):
    assert_error(erp.delete("/api/v1/customers/C-A/"), 405, "method_not_allowed")


def test_a_body_that_is_not_json_is_400(erp, scenario):
    response = erp.post("/api/v1/purchases/", data="{not json", content_type="application/json")
    assert_error(response, 400, "invalid")


def test_a_conflict_is_409_and_a_reused_key_422(users, erp, scenario):
    body = json.dumps(line())
    erp.post("/api/v1/purchases/", data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1")
    response = erp.post("/api/v1/purchases/", data=json.dumps(line("L9")), content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY="k1")
    assert_error(response, 422, "idempotency_key_reused")


def test_too_many_requests_is_429_with_retry_after(erp, scenario, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "3/min"}}
    statuses = [erp.get("/api/v1/customers/").status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    response = erp.get("/api/v1/customers/")
    assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 61


def test_browser_sessions_are_not_throttled_and_need_csrf_to_write(users, scenario, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "1/min"}}
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(users["erp"])
    assert [browser.get("/api/v1/customers/").status_code for _ in range(3)] == [200, 200, 200]
    response = browser.post("/api/v1/purchases/", data=json.dumps(line()), content_type="application/json")
    assert_error(response, 403, "permission_denied")


# --- R9: PostgreSQL stopped mid-request ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_database_stopped_mid_request_answers_503_and_serves_again_once_back(users, scenario):
    erp = client_for(users["erp"])
    assert erp.post("/api/v1/purchases/", data=json.dumps(line("L1")), content_type="application/json").status_code \
        == 200
    pg_ctl = postgres_ctl()
    # Hold line L1 so the next request waits inside its transaction, then stop the server under it.
    holder = connections.create_connection("default")
    holder.set_autocommit(False)
    with holder.cursor() as cursor:
        cursor.execute("SELECT id FROM rebates_purchaseline WHERE erp_line_id = 'L1' FOR UPDATE")
    answers = {}

    def change_l1():
        try:
            answers["mid"] = client_for(users["erp"]).post(
                "/api/v1/purchases/", data=json.dumps(line("L1", quantity="11", amount="133.10")),
                content_type="application/json")
        finally:
            connection.close()

    thread = threading.Thread(target=change_l1)
    thread.start()
    stopped = False
    try:
        with connection.cursor() as cursor:
            for _ in range(500):
                cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
                if cursor.fetchone()[0]:
                    break
                time.sleep(0.02)
        # Fast: every connection is cut at once, and what was committed is kept.
        pg_ctl("stop", "--mode", "fast", "--wait")
        stopped = True
        thread.join(timeout=60)
        mid = assert_error(answers["mid"], 503, "unavailable")
        assert "nothing was changed" in mid["message"]
        assert answers["mid"]["Retry-After"]
        connection.close()
        down = client_for_without_database(users["erp"]).get("/api/v1/customers/")
        assert_error(down, 503, "unavailable")
    finally:
        if stopped:
            pg_ctl("start", "--wait")
        connection.close()
        try:
            holder.close()
        except Exception:  # its server went away under it
            pass
        thread.join(timeout=60)
    assert client_for(users["erp"]).get("/api/v1/customers/C-A/").status_code == 200
    assert PurchaseLine.objects.get(erp_line_id="L1").quantity == 10
    again = client_for(users["erp"]).post("/api/v1/purchases/", data=json.dumps(line("L1", quantity="11",
                                                                                    amount="133.10")),
                                          content_type="application/json")
    assert again.status_code == 200 and again.json()["updated"] == 1


def client_for_without_database(user):
    """A token client made while the database is down (client_for would look the token up)."""
    from rest_framework.authtoken.models import Token  # noqa: F401  (the token exists from before)

    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {_tokens[user.pk]}")
    return client


_tokens: dict[int, str] = {}


@pytest.fixture(autouse=True)
def _remember_tokens(users):
    from rest_framework.authtoken.models import Token

    for user in users.values():
        _tokens[user.pk] = Token.objects.get_or_create(user=user)[0].key


def test_pages_are_checked(erp, scenario):
    assert_error(erp.get("/api/v1/customers/", {"page": "0"}), 400, "invalid")
    assert_error(erp.get("/api/v1/customers/", {"page": ""}), 400, "invalid")
    assert_error(erp.get("/api/v1/customers/", {"page_size": "1001"}), 400, "invalid")
    assert_error(erp.get("/api/v1/customers/", {"page": "9"}), 404, "not_found")
    assert_error(erp.get("/api/v1/customers/", {"status": ""}), 400, "invalid")


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/api/v1/no-such-thing/", "/api/nothing", "/api/v2/customers/",
                                  "/api/v1/customers/C-A/no-such-action/"])
def test_an_unknown_api_path_is_a_json_404_with_debug_on_or_off(erp, scenario, settings, debug, path):
    settings.DEBUG = debug
    body = assert_error(erp.get(path), 404, "not_found")
    assert body["message"] == "Not found."


def test_pages_keep_djangos_own_404_and_api_paths_still_get_their_slash(erp, scenario, settings):
    settings.DEBUG = True
    assert erp.get("/no-such-page/")["Content-Type"].startswith("text/html")
    response = erp.get("/api/v1/customers")
    assert response.status_code == 301 and response["Location"] == "/api/v1/customers/"
