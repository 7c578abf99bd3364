"""The contacts due, page and sheet, give each customer's rebate at stake in its own currency."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from customers import roles
from rebates.exports.cells import money_format
from tests.factories import AgreementFactory, CustomerFactory, LedgerEntryFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-11-09")]


def test_each_customer_due_has_its_rebate_at_stake_in_its_currency(client):
    manager = UserFactory(username="am.a", role=roles.ACCOUNT_MANAGER)
    for code, currency, unpaid in (("N-EU", "EUR", "17.05"), ("N-US", "USD", "20.00")):
        customer = CustomerFactory(code=code, account_manager=manager, currency=currency, value_tier="A",
                                   risk_level="high")
        LedgerEntryFactory(agreement=AgreementFactory(customer=customer), period=datetime.date(2026, 10, 1),
                           amount=Decimal(unpaid))
    client.force_login(manager)
    body = client.get(reverse("contacts-due")).content.decode()
    rows = {code: row for row in body.split("<tr>") for code in ("N-EU", "N-US") if code in row}
    assert "€17.05" in rows["N-EU"] and "$" not in rows["N-EU"]
    assert "$20.00" in rows["N-US"]
    sheet = openpyxl.load_workbook(io.BytesIO(client.get(reverse("contacts-due-sheet")).content)).active
    header, *lines = list(sheet.iter_rows())
    assert header[-1].value == "Currency"
    euro = next(line for line in lines if line[0].value == "N-EU")
    assert (euro[5].value, euro[5].number_format, euro[-1].value) == (17.05, money_format("EUR"), "EUR")
