"""List endpoints read a fixed number of queries however many rows they show."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rebates.models import Settlement
from tests.api.conftest import client_for
from tests.factories import (
    AgreementFactory,
    ContractPriceFactory,
    CustomerFactory,
    PerUnitRuleFactory,
    PriceClaimFactory,
    PurchaseLineFactory,
)


def grow(scenario, count):
    for _ in range(count):
        customer = CustomerFactory(account_manager=scenario["mine"].account_manager)
        agreement = AgreementFactory(customer=customer, products=[scenario["product"]])
        PerUnitRuleFactory(agreement=agreement)
        ContractPriceFactory(agreement=agreement, net_price=Decimal("12.10"))
        PurchaseLineFactory(customer=customer, product=scenario["product"])
        PriceClaimFactory(customer=customer, product=scenario["product"])
        Settlement.objects.create(agreement=agreement, period_start=datetime.date(2026, 1, 1),
                                  period_end=datetime.date(2026, 12, 1))


def queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize("url", ["/api/v1/customers/", "/api/v1/agreements/", "/api/v1/purchases/",
                                 "/api/v1/settlements/", "/api/v1/price-claims/", "/api/v1/products/"])
def test_list_query_count_does_not_grow_with_rows(users, scenario, url):
    manager = client_for(users["account_manager"])
    grow(scenario, 2)
    few = queries(manager, url)
    grow(scenario, 10)
    assert queries(manager, url) == few
