"""Rates and lines in another currency through the admin: saved through the services, so a new rate stores
the lines held for it, a changed rate converts its month's lines again, and a hand-typed line whose month has
no rate is refused on the form with nothing kept."""

import datetime
from decimal import Decimal as D

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from rebates.models import ExchangeRate, HeldPurchaseLine, PurchaseLine
from rebates.services.purchases import purchase_lines_ingest
from tests.factories import PASSWORD, AgreementFactory, ProductFactory

pytestmark = pytest.mark.django_db
MARCH = datetime.date(2026, 3, 1)


@pytest.fixture
def admin(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD))
    return client


@pytest.fixture
def agreement():
    product = ProductFactory(sku="P-1")
    agreement = AgreementFactory(number="AG-FX")
    agreement.products.set([product])
    return agreement


def line_form(agreement, **changes):
    return {"erp_line_id": "MAN-1", "customer": agreement.customer.pk, "product": agreement.products.get().pk,
            "month": "2026-03-01", "unit": "", "quantity": "10", "unit_price": "10.00", "amount": "100.00",
            "currency": "EUR", **changes}


def test_a_rate_added_in_the_admin_stores_the_lines_held_for_it(admin, agreement):
    purchase_lines_ingest(lines=[{"erp_line_id": "L-1", "customer": agreement.customer.code, "product": "P-1",
                                  "month": "2026-03", "quantity": "10", "unit_price": "10.00", "amount": "100.00",
                                  "currency": "EUR"}], source="api")
    response = admin.post(reverse("admin:rebates_exchangerate_add"),
                          {"currency": "EUR", "to_currency": "USD", "month": "2026-03", "rate": "1.2"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert PurchaseLine.objects.get(erp_line_id="L-1").amount == D("120.00")
    assert not HeldPurchaseLine.objects.exists()


def test_a_rate_changed_in_the_admin_converts_its_months_lines_again(admin, agreement):
    rate = ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=MARCH, rate=D("1.2"))
    purchase_lines_ingest(lines=[{"erp_line_id": "L-1", "customer": agreement.customer.code, "product": "P-1",
                                  "month": "2026-03", "quantity": "10", "unit_price": "10.00", "amount": "100.00",
                                  "currency": "EUR"}], source="api")
    response = admin.post(reverse("admin:rebates_exchangerate_change", args=[rate.pk]), {"rate": "1.25"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert PurchaseLine.objects.get(erp_line_id="L-1").amount == D("125.00")


def test_a_bad_rate_in_the_admin_is_refused_on_the_form(admin, agreement):
    response = admin.post(reverse("admin:rebates_exchangerate_add"),
                          {"currency": "XYZ", "to_currency": "USD", "month": "2026-03", "rate": "1.2"})
    assert response.status_code == 200
    assert "currency" in response.context["adminform"].form.errors
    assert not ExchangeRate.objects.exists()


def test_a_line_typed_in_euros_is_converted_and_edited_as_sent(admin, agreement):
    ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=MARCH, rate=D("1.2"))
    response = admin.post(reverse("admin:rebates_purchaseline_add"), line_form(agreement))
    assert response.status_code == 302, response.content.decode()[:2000]
    line = PurchaseLine.objects.get(erp_line_id="MAN-1")
    assert (line.amount, line.amount_in_currency, line.currency) == (D("120.00"), D("100.00"), "EUR")
    page = admin.get(reverse("admin:rebates_purchaseline_change", args=[line.pk]))
    assert page.context["adminform"].form.initial["amount"] == D("100.00")


def test_a_line_typed_in_a_currency_without_the_months_rate_is_refused_and_nothing_kept(admin, agreement):
    response = admin.post(reverse("admin:rebates_purchaseline_add"), line_form(agreement))
    assert response.status_code == 200
    assert "No EUR rate to USD for 2026-03" in str(response.context["adminform"].form.errors["currency"])
    assert not PurchaseLine.objects.exists() and not HeldPurchaseLine.objects.exists()


def test_held_lines_are_read_only_in_the_admin(admin, agreement):
    assert admin.get(reverse("admin:rebates_heldpurchaseline_changelist")).status_code == 200
    assert admin.get(reverse("admin:rebates_heldpurchaseline_add")).status_code == 403
