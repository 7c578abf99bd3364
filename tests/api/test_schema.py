"""OpenAPI 3 at /api/schema/ with every operation described and exemplified; Swagger UI served offline."""

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def schema(db):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def test_schema_is_openapi_3_and_holds_the_contract(schema):
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    for expected in ("/api/v1/customers/", "/api/v1/products/", "/api/v1/programs/", "/api/v1/agreements/",
                     "/api/v1/purchases/", "/api/v1/accrual-runs/", "/api/v1/accruals/",
                     "/api/v1/agreements/{number}/statement/", "/api/v1/settlements/{id}/approve/",
                     "/api/v1/settlements/{id}/pay/", "/api/v1/price-claims/", "/api/v1/market-signals/{id}/decision/",
                     "/api/v1/exports/accruals.xlsx"):
        assert expected in paths


def test_every_operation_is_described_with_request_and_response_examples(schema):
    for path, method, operation in operations(schema):
        assert operation.get("summary") or operation.get("description"), (method, path)
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None and method != "delete":
            assert body.get("examples"), f"{method} {path} has no request example"
        answers = {code: answer for code, answer in operation["responses"].items() if code.startswith("2")}
        assert answers, (method, path)
        for code, answer in answers.items():
            for media_type, content in answer.get("content", {}).items():
                if media_type == "application/json":
                    assert content.get("examples"), f"{method} {path} {code} has no response example"
        for code in ("401", "403", "429", "503"):
            error = operation["responses"][code]["content"]["application/json"]
            assert error["schema"]["$ref"].endswith("/Error") and error["examples"], (method, path, code)


def test_writes_document_the_idempotency_key(schema):
    for path, method, operation in operations(schema):
        if method in ("post", "put", "patch"):
            assert "Idempotency-Key" in {p["name"] for p in operation.get("parameters", [])}, (method, path)


def test_money_is_a_decimal_string_in_answers(schema):
    accrual = schema["components"]["schemas"]["AccrualOut"]["properties"]
    assert accrual["accrued"]["type"] == "string" and accrual["accrued"]["format"] == "decimal"
    # Months from 2000-01 to 2099-12, as config.validators bounds them.
    assert accrual["month"]["pattern"].startswith("^20[0-9]{2}-")


def test_codes_and_days_carry_their_bounds_and_writes_document_413(schema):
    schemas = schema["components"]["schemas"]
    for component, field in (("CustomerInRequest", "code"), ("ProductInRequest", "sku"),
                             ("AgreementInRequest", "number")):
        assert schemas[component]["properties"][field]["pattern"] == "^[^\\W_][\\w.~-]*$", component
    assert schemas["ClaimInRequest"]["properties"]["reported_on"]["pattern"].startswith("^20[0-9]{2}-")
    for path, method, operation in operations(schema):
        if method in ("post", "put", "patch"):
            assert "413" in operation["responses"], (method, path)


def _allowed(schema, field) -> set:
    """The enum values a field's schema allows (through its $ref and oneOf)."""
    found = set()
    for option in field.get("oneOf", field.get("allOf", [field])):
        option = schema["components"]["schemas"][option["$ref"].rsplit("/", 1)[1]] if "$ref" in option else option
        found |= set(option.get("enum", []))
    return found


def test_a_signal_not_yet_decided_answers_an_empty_decision_the_schema_allows(schema):
    # An open signal answers "decision": ""; the request takes only match or hold.
    for component in ("SignalOut", "SignalDetailOut"):
        assert _allowed(schema, schema["components"]["schemas"][component]["properties"]["decision"]) \
            == {"match", "hold", ""}, component
    assert _allowed(schema, schema["components"]["schemas"]["DecisionInRequest"]["properties"]["decision"]) \
        == {"match", "hold"}


def test_swagger_ui_is_served_from_the_app_itself(db):
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn." not in page and "unpkg" not in page and "jsdelivr" not in page
