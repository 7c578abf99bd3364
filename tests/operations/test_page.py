"""The operations page: open and cleared alerts with when they started and cleared, for administrators only."""

from datetime import timedelta

import pytest
from django.test import Client

from customers import roles
from operations.models import Alert
from operations.services import alerts_sync
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [roles.ACCOUNT_MANAGER, roles.PRICING_MANAGER, roles.FINANCE])
def test_the_page_is_refused_to_every_role_but_administrators(role):
    client = Client()
    client.force_login(UserFactory(role=role))
    assert client.get("/operations/").status_code == 403


def test_an_anonymous_visitor_is_sent_to_sign_in():
    response = Client().get("/operations/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_an_administrator_sees_open_and_cleared_alerts_with_their_times(administrator, pinned_clock):
    from config import clock

    started = clock.now()
    alerts_sync(kind=Alert.Kind.BROKER_DOWN, seen={"broker": ("The broker cannot be reached.", {})}, now=started)
    alerts_sync(kind=Alert.Kind.EXPORT_STUCK, seen={"exports": ("1 export not finished in time.", {})}, now=started)
    alerts_sync(kind=Alert.Kind.EXPORT_STUCK, seen={}, now=started + timedelta(minutes=7))
    client = Client()
    client.force_login(administrator)
    response = client.get("/operations/")
    assert response.status_code == 200
    page = response.content.decode()
    open_part, cleared_part = page.split('id="cleared-alerts"')
    assert "Broker down" in open_part and "2026-11-23 12:00" in open_part
    assert "Export stuck" in cleared_part and "2026-11-23 12:07" in cleared_part
