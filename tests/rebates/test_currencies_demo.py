"""The demo shows a customer abroad: it buys and its agreement books in euros, the euro has a rate for every
month, and the journal shows its rebate in the reporting currency too."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from customers.models import Customer
from rebates.journal import journal
from rebates.models import ExchangeRate, RebateAgreement

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_customer_in_euros_with_its_rates():
    call_command("load_demo", stdout=io.StringIO())
    abroad = Customer.objects.get(code="C-1050")
    assert abroad.currency == "EUR"
    assert {agreement.currency for agreement in RebateAgreement.objects.filter(customer=abroad)} == {"EUR"}
    assert Customer.objects.exclude(code="C-1050").filter(currency="EUR").count() == 0
    rates = ExchangeRate.objects.filter(currency="EUR", to_currency="USD")
    assert rates.count() == 24 and rates.get(month=date(2026, 3, 1)).rate == Decimal("1.1100")
    made = journal(user=get_user_model().objects.get(username="finance"), first=date(2026, 1, 1),
                   last=date(2026, 6, 1))
    assert {line.currency for line in made.lines} == {"USD", "EUR"}
    assert made.complete and made.reporting_debit == made.reporting_credit
    before = list(ExchangeRate.objects.order_by("pk").values_list("pk", "updated_at"))
    call_command("load_demo", stdout=io.StringIO())
    assert list(ExchangeRate.objects.order_by("pk").values_list("pk", "updated_at")) == before
