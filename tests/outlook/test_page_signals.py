"""The dashboard's customer rows read their open signals in one statement (outlook.sql.customers_open_signals):
the same marks as pricing_signals.selectors.open_signals_by_customer, customer for customer, and worked out on
each request, so a decision or a new signal shows on the next page."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from config import clock
from customers.models import Customer
from outlook.selectors import page_open_signals
from pricing_signals.selectors import open_signal_list, open_signals_by_customer
from pricing_signals.services import market_signal_close, market_signal_decide
from tests.factories import ProductFactory
from tests.pricing_signals import conftest as signal_tests
from tests.pricing_signals import test_dashboard_exposure as exposure
from tests.pricing_signals.conftest import signal_on
from tests.pricing_signals.test_dashboard_exposure import EXPOSED, agreement, dashboard_marks, html

pytestmark = pytest.mark.django_db

# The signal exposure tests' people and customers (this module's `scenario` is theirs, not the pages' one).
manager_a, manager_b, pricing_manager = signal_tests.manager_a, signal_tests.manager_b, signal_tests.pricing_manager
scenario = exposure.scenario


def marks(found) -> dict[int, list[tuple[int, bool]]]:
    return {customer_id: [(mark.signal.pk, mark.claimed) for mark in found_marks]
            for customer_id, found_marks in found.items()}


@pytest.mark.parametrize("who", ["pricing_manager", "manager_a", "manager_b"])
def test_one_statement_marks_the_customers_the_exposure_rule_marks(scenario, request, who):
    user = request.getfixturevalue(who)
    visible = list(Customer.objects.visible_to(user).values_list("pk", flat=True))

    found = page_open_signals(visible_customer_ids=visible, signals=open_signal_list(user=user), as_of=clock.today())

    assert marks(found) == marks(open_signals_by_customer(user=user))
    bolt = scenario["signals"]["bolt"].pk
    exposed = {customer_id for customer_id, signal_marks in marks(found).items()
               for pk, claimed in signal_marks if pk == bolt and not claimed}
    assert exposed == {scenario["people"][code].pk for code in EXPOSED["bolt"]} & set(visible)


def test_only_the_customers_asked_for_are_read(scenario, manager_a):
    people = scenario["people"]

    found = page_open_signals(visible_customer_ids=[people["BOTH"].pk, people["CLAIMANT"].pk],
                              signals=open_signal_list(user=manager_a), as_of=clock.today())

    bolt, nut = scenario["signals"]["bolt"].pk, scenario["signals"]["nut"].pk
    # Newest signal first, as the dashboard lists them.
    assert marks(found) == {people["BOTH"].pk: [(nut, False), (bolt, False)], people["CLAIMANT"].pk: [(bolt, True)]}


def test_a_page_without_customers_or_signals_reads_nothing(scenario, manager_a, django_assert_num_queries):
    signals = open_signal_list(user=manager_a)
    with django_assert_num_queries(0):
        assert page_open_signals(visible_customer_ids=[], signals=signals, as_of=clock.today()) == {}
        assert page_open_signals(visible_customer_ids=[scenario["people"]["BOTH"].pk], signals=[],
                                 as_of=clock.today()) == {}


def test_a_decision_and_a_new_signal_show_on_the_next_dashboard(scenario, client, manager_a, pricing_manager):
    client.force_login(manager_a)
    bolt, nut = scenario["signals"]["bolt"], scenario["signals"]["nut"]
    exposed, _ = dashboard_marks(html(client.get(reverse("dashboard"))))
    assert exposed[bolt.pk] == {"BY-PRODUCT", "BOTH", "LINE-BOUGHT-BOLT"}

    market_signal_decide(user=pricing_manager, signal=bolt, decision="hold", reason="Watching the market.")
    market_signal_close(user=pricing_manager, signal=nut)
    washer = ProductFactory(sku="WASHER", list_price=Decimal("5.00"))
    customer = scenario["people"]["BY-PRODUCT"]
    agreement(customer, products=[washer], price="4.80", start_month=date(2026, 1, 1), end_month=date(2026, 12, 1))
    newer = signal_on(washer, "4.50")

    exposed, _ = dashboard_marks(html(client.get(reverse("dashboard"))))
    assert exposed == {newer.pk: {"BY-PRODUCT"}}
