"""Currencies end to end (docs/currencies.md): a line sent in euros for a customer in dollars is converted at
its month's rate when it arrives through the API, and the nightly run books the rebate on the converted amount,
in the agreement's currency, to the cent; a full recompute then books nothing more. A line whose month has no
rate is held and books nothing until the rate arrives; the next run then books it. Both writers of the ledger
(the flat rules' statement, the engine's COPY) are held to it."""

import datetime
import json
from decimal import Decimal

import pytest

from customers import roles
from rebates.models import HeldPurchaseLine, LedgerEntry, PurchaseLine, RebateRule
from tests import ledger
from tests.api.conftest import client_for, line
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
PURCHASES = "/api/v1/purchases/"
RATES = "/api/v1/exchange-rates/"
MARCH, APRIL = datetime.date(2026, 3, 1), datetime.date(2026, 4, 1)
END_OF_APRIL = datetime.date(2026, 4, 30)


def post(client, url, body):
    response = client.post(url, data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def entries(agreement):
    return list(LedgerEntry.objects.filter(agreement=agreement).order_by("concerns", "id")
                .values_list("period", "concerns", "kind", "eligible_amount", "amount", "currency"))


@pytest.fixture(params=[None, D("1")], ids=["flat-rule-statement", "engine-copy"])
def book(request):
    """C-USD (in dollars) under a 2% rule on W-1 for 2026; with a minimum the engine books it, without one
    the flat rules' statement does. The ERP and finance speak to the API."""
    customer = CustomerFactory(code="C-USD", currency="USD")
    product = ProductFactory(sku="W-1")
    agreement = AgreementFactory(number="AG-USD", customer=customer, products=[product])
    RebateRule.objects.create(agreement=agreement, kind="percent", rate_type="percent", rate=D("2"),
                              minimum=request.param)
    assert agreement.currency == "USD"
    return {"agreement": agreement,
            "erp": client_for(UserFactory(username="fx-erp", role=roles.ERP_INTEGRATION)),
            "finance": client_for(UserFactory(username="fx-finance", role=roles.FINANCE))}


def test_a_line_in_euros_books_its_rebate_on_the_converted_amount_in_dollars_to_the_cent(book):
    agreement = book["agreement"]
    post(book["finance"], RATES, {"currency": "EUR", "to_currency": "USD", "month": "2026-03", "rate": "1.0855"})
    sent = post(book["erp"], PURCHASES, {**line(customer="C-USD", quantity="10", unit_price="123.4560",
                                                amount="1234.56"), "currency": "EUR"})
    assert (sent["created"], sent["held"]) == (1, 0)
    # 1,234.56 EUR x 1.0855 = 1,340.114880 -> $1,340.11 (half-up to the cent).
    stored = PurchaseLine.objects.get(erp_line_id="L1")
    assert (stored.amount, stored.currency, stored.amount_in_currency) == (D("1340.11"), "EUR", D("1234.56"))

    run = ledger.accrue(END_OF_APRIL)

    assert run.status == "succeeded"
    # 2% of $1,340.11 = $26.8022 -> $26.80 (2% of the euros as sent would be 24.69).
    assert entries(agreement) == [(MARCH, MARCH, "accrual", D("1340.11"), D("26.80"), "USD")]
    assert run.booked_by_currency == {"USD": D("26.80")}
    assert ledger.accrue(END_OF_APRIL).entries_count == 0
    assert ledger.accrue(END_OF_APRIL, full=True).entries_count == 0
    assert entries(agreement) == [(MARCH, MARCH, "accrual", D("1340.11"), D("26.80"), "USD")]


def test_a_line_whose_month_has_no_rate_is_held_and_booked_once_the_rate_arrives(book):
    agreement = book["agreement"]
    sent = post(book["erp"], PURCHASES, {**line("L-APR", customer="C-USD", month="2026-04", quantity="20",
                                                unit_price="25.0000", amount="500.00"), "currency": "EUR"})
    assert (sent["created"], sent["held"]) == (0, 1)
    assert sent["held_lines"] == [{"erp_line_id": "L-APR", "reason": "No EUR rate to USD for 2026-04."}]

    held_run = ledger.accrue(END_OF_APRIL)

    assert held_run.status == "succeeded" and held_run.entries_count == 0
    assert entries(agreement) == []
    assert not PurchaseLine.objects.exists() and HeldPurchaseLine.objects.get().erp_line_id == "L-APR"

    released = post(book["finance"], RATES, {"currency": "EUR", "month": "2026-04", "rate": "1.1"})
    assert released["released"] == 1
    assert not HeldPurchaseLine.objects.exists()
    assert PurchaseLine.objects.get(erp_line_id="L-APR").amount == D("550.00")  # 500.00 EUR x 1.1

    ledger.accrue(END_OF_APRIL)

    # 2% of $550.00 = $11.00, in April, in dollars; nothing more on a rerun or a full recompute.
    assert entries(agreement) == [(APRIL, APRIL, "accrual", D("550.00"), D("11.00"), "USD")]
    assert ledger.accrue(END_OF_APRIL).entries_count == 0
    assert ledger.accrue(END_OF_APRIL, full=True).entries_count == 0
