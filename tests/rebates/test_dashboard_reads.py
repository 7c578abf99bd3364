"""The dashboard's reads per customer: shortfall months counted from the ledger, in a fixed number of queries."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.roles import ACCOUNT_MANAGER
from rebates.models import AccrualRun, LedgerEntry
from rebates.selectors import customers_shortfall_months
from tests.factories import AgreementFactory, CustomerFactory, LedgerEntryFactory, UserFactory

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 6, 15)  # May is the last complete month


@pytest.fixture(autouse=True)
def _accrued_to_as_of():
    """A successful run as of AS_OF: every month to June is accrued."""
    AccrualRun.objects.create(trigger=AccrualRun.Trigger.COMMAND, as_of=AS_OF, status=AccrualRun.Status.SUCCEEDED)


def booked(agreement, units_by_month):
    for month, units in units_by_month.items():
        LedgerEntryFactory(agreement=agreement, period=date(2026, month, 1), quantity=Decimal(units))


def test_shortfall_months_count_complete_months_below_the_commitment_and_months_with_nothing_booked():
    manager = UserFactory(role=ACCOUNT_MANAGER)
    customer = CustomerFactory(account_manager=manager)
    agreement = AgreementFactory(customer=customer, committed_monthly_quantity=Decimal("10"))
    # January to March meet 10; April 5 (short); May nothing booked (short); June is not over yet.
    booked(agreement, {1: 10, 2: 12, 3: 10, 4: 5, 6: 0})
    # A credit note in March booked in May: 10 - 2 = 8 is short of 10 after all.
    LedgerEntryFactory(agreement=agreement, period=date(2026, 3, 1), kind=LedgerEntry.Kind.ADJUSTMENT,
                       quantity=Decimal("-2"), amount=Decimal("-0.50"))

    assert customers_shortfall_months(user=manager, as_of=AS_OF) == {customer.pk: 3}  # March, April, May


def test_shortfall_months_leave_out_agreements_without_commitment_inactive_or_not_yet_started():
    manager = UserFactory(role=ACCOUNT_MANAGER)
    customer = CustomerFactory(account_manager=manager)
    booked(AgreementFactory(customer=customer, committed_monthly_quantity=None), {1: 0})
    booked(AgreementFactory(customer=customer, status="terminated", terminated_on=date(2026, 3, 31)), {1: 0})
    AgreementFactory(customer=customer, start_month=date(2026, 6, 1))
    late = AgreementFactory(customer=CustomerFactory(account_manager=manager), start_month=date(2026, 4, 1),
                            end_month=date(2026, 4, 1))  # one month, April, nothing bought

    assert customers_shortfall_months(user=manager, as_of=AS_OF) == {late.customer_id: 1}


def test_shortfall_months_are_only_the_managers_own_and_take_a_fixed_number_of_queries():
    manager, other = UserFactory(role=ACCOUNT_MANAGER), UserFactory(role=ACCOUNT_MANAGER)
    mine = [AgreementFactory(customer=CustomerFactory(account_manager=manager)) for _ in range(6)]
    theirs = AgreementFactory(customer=CustomerFactory(account_manager=other))
    for agreement in [*mine, theirs]:
        booked(agreement, {1: 10, 2: 10, 3: 10, 4: 10, 5: 9})

    manager.has_perm("customers.view_all_customers")  # the role is read once per request, as on a page
    with CaptureQueriesContext(connection) as queries:
        found = customers_shortfall_months(user=manager, as_of=AS_OF)

    assert found == {agreement.customer_id: 1 for agreement in mine}
    assert len(queries) == 2  # the agreements (with the last run), then their ledger


def test_months_after_the_last_run_are_not_counted_as_short():
    manager = UserFactory(role=ACCOUNT_MANAGER)
    agreement = AgreementFactory(customer=CustomerFactory(account_manager=manager),
                                 committed_monthly_quantity=Decimal("10"))
    booked(agreement, {1: 10, 2: 10, 3: 4})
    AccrualRun.objects.update(as_of=date(2026, 3, 31))

    # April and May are complete but not accrued yet: nothing to count until a run books them.
    assert customers_shortfall_months(user=manager, as_of=AS_OF) == {agreement.customer_id: 1}


def test_no_month_is_short_before_any_run_succeeded():
    manager = UserFactory(role=ACCOUNT_MANAGER)
    booked(AgreementFactory(customer=CustomerFactory(account_manager=manager)), {1: 4})
    AccrualRun.objects.update(status=AccrualRun.Status.FAILED)

    assert customers_shortfall_months(user=manager, as_of=AS_OF) == {}
