"""The agreement page of a customer abroad says its currency, and a month's lines sent in another currency
show both amounts: as sent and in the agreement's currency."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from rebates.models import ExchangeRate
from rebates.services.purchases import purchase_lines_ingest
from tests.pages.fixtures import html

pytestmark = pytest.mark.django_db


def test_a_month_shows_its_lines_sent_in_another_currency_in_both(scenario, client_for):
    ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=date(2026, 3, 1), rate=Decimal("1.1"))
    purchase_lines_ingest(lines=[{"erp_line_id": "EU-1", "customer": "SEED-001", "product": "FAS-101",
                                  "month": "2026-03", "quantity": "10", "unit_price": "10.00", "amount": "100.00",
                                  "currency": "EUR"}], source="api")
    page = html(client_for(scenario["am"]).get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    assert "sent in EUR: 100.00 EUR = 110.00 USD" in page
    assert 'id="agreement-currency">USD' in page


def test_the_statement_api_carries_the_currency_and_the_lines_sent_in_another(scenario, client_for):
    ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=date(2026, 3, 1), rate=Decimal("1.1"))
    purchase_lines_ingest(lines=[{"erp_line_id": "EU-1", "customer": "SEED-001", "product": "FAS-101",
                                  "month": "2026-03", "quantity": "10", "unit_price": "10.00", "amount": "100.00",
                                  "currency": "EUR"}], source="api")
    body = client_for(scenario["am"]).get("/api/v1/agreements/AG-SEED-2026/statement/").json()
    assert body["currency"] == "USD"
    march = next(month for month in body["months"] if month["month"] == "2026-03")
    assert march["currencies_sent"] == [{"currency": "EUR", "amount_in_currency": "100.00", "amount": "110.00"}]
