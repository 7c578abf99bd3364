"""Pages keep a fixed number of queries however many rows there are: the dashboard with 2,000 customers takes at
most 20, the agreement page at most 22 (its history and the runs that booked it are one query each)."""

import itertools
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from customers.models import AuditRecord, Customer
from rebates.models import LedgerEntry, RebateAgreement
from tests.factories import ProgramFactory, SegmentFactory

pytestmark = pytest.mark.django_db

MAX_QUERIES = 20
AGREEMENT_PAGE_QUERIES = MAX_QUERIES  # with its history and runs sections, one query each
_keys = itertools.count()


def many_customers(manager, count, product):
    segment, program = SegmentFactory(), ProgramFactory()
    customers = Customer.objects.bulk_create(
        Customer(code=f"Q{n:05d}", name=f"Customer {n:05d}", segment=segment, account_manager=manager)
        for n in range(count))
    agreements = RebateAgreement.objects.bulk_create(
        RebateAgreement(number=f"AG-Q{n:05d}", customer=customer, program=program, start_month=date(2026, 1, 1),
                        end_month=date(2026, 12, 1), committed_monthly_quantity=Decimal("10"), status="active")
        for n, customer in enumerate(customers))
    RebateAgreement.products.through.objects.bulk_create(
        RebateAgreement.products.through(rebateagreement_id=a.pk, product_id=product.pk) for a in agreements)
    LedgerEntry.objects.bulk_create(
        LedgerEntry(agreement=agreement, period=date(2026, month, 1), kind="accrual", quantity=Decimal(10 - month % 2),
                    eligible_amount=Decimal("121.00"), amount=Decimal("2.50"), booking_key=f"q:{next(_keys)}")
        for agreement in agreements for month in (1, 2, 3))


def test_dashboard_with_two_thousand_customers_stays_within_twenty_queries(signalled_scenario, client,
                                                                           django_assert_max_num_queries):
    many_customers(signalled_scenario["am"], 2000, signalled_scenario["product"])
    client.force_login(signalled_scenario["am"])
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get(reverse("dashboard"), {"page": "2"})
    assert response.status_code == 200
    page = response.content.decode()
    table = page[page.index('id="customers"'):]
    table = table[:table.index("</table>")]
    # 2,002 customers, 50 a page, by name: the second page starts at the 51st of "Customer 00000".."01999".
    assert table.count("<tr><td>") == 50
    assert "Customer 00050" in table and "Customer 00099" in table
    assert "Customer 00049" not in table and "Customer 00100" not in table
    assert '<span class="count">2,002</span>' in page
    assert "Page 2 of 41" in page
    # The money at stake still counts every customer, not only the page's.
    # 2,000 agreements with $7.50 each, and the scenario's $105.00.
    assert "$15,105.00 unpaid rebate at stake" in page


def test_account_manager_finds_a_customer_of_a_long_list_on_the_dashboard(signalled_scenario, client,
                                                                         django_assert_max_num_queries):
    many_customers(signalled_scenario["am"], 2000, signalled_scenario["product"])
    client.force_login(signalled_scenario["am"])
    with django_assert_max_num_queries(MAX_QUERIES + 1):  # the search reads its own rows
        response = client.get(reverse("dashboard"), {"q": "Customer 01999"})
    page = response.content.decode()
    table = page[page.index('id="customers"'):]
    assert table[:table.index("</table>")].count("<tr><td>") == 1
    assert "Customer 01999" in table
    assert '<span class="count">1</span>' in page


@pytest.mark.parametrize("role", ["pricing", "finance"])
def test_other_roles_dashboards_stay_within_twenty_queries(signalled_scenario, client, django_assert_max_num_queries,
                                                           role):
    many_customers(signalled_scenario["am"], 200, signalled_scenario["product"])
    client.force_login(signalled_scenario[role])
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get(reverse("dashboard")).status_code == 200


def test_agreement_page_stays_within_its_queries_however_long_its_history(signalled_scenario, client,
                                                                         django_assert_max_num_queries):
    agreement = signalled_scenario["agreements"]["seed"]
    AuditRecord.objects.bulk_create(
        AuditRecord(actor=signalled_scenario["finance"], action="agreement.update",
                    target_type="rebates.rebateagreement", target_id=str(agreement.pk), summary=f"Change {n}")
        for n in range(60))
    client.force_login(signalled_scenario["am"])
    with django_assert_max_num_queries(AGREEMENT_PAGE_QUERIES):
        response = client.get(reverse("agreement-detail", args=["AG-SEED-2026"]))
    assert response.status_code == 200
    assert "$0.25 a unit, paid annually." in response.content.decode()


def test_signals_page_stays_within_twenty_queries(signalled_scenario, client, django_assert_max_num_queries):
    client.force_login(signalled_scenario["pricing"])
    with django_assert_max_num_queries(MAX_QUERIES):
        assert client.get(reverse("signals")).status_code == 200
