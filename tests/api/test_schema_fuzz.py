"""R18: schemathesis over /api/schema/, in-process through the WSGI app, with its default checks and a
bounded number of examples per operation: no server error, no answer outside the schema, no endpoint
that ignores authentication."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.config import SchemathesisConfig

# The default checks, with two allowances a schema cannot express: a request the schema allows may name a
# row that does not exist (a customer code, a SKU, an agreement number), which the contract answers 400
# (e.g. a purchase line for an unknown customer); and an Idempotency-Key is used for one request only, so
# the same key sent with another body answers 422, as the contract says.
CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "422", "429"]}}})

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture
def api_schema(db, settings):
    # Every operation is called many times with one token: the fuzz measures answers, not the throttle.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"token": "100000/min"}}
    # As Django's test client does: the request cycle must not close the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), config=CONFIG)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def admin_token(users, scenario):
    return Token.objects.get_or_create(user=users["administrator"])[0].key


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_answers_within_its_schema(case, admin_token):
    case.call_and_validate(headers={"Authorization": f"Token {admin_token}"})
