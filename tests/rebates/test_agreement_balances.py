"""Agreement balances are kept in step with the ledger by the database itself: every entry booked, by a run,
a payout, a forfeiture or raw SQL, adds to its agreement's balance in the same transaction; finance's
liability and the dashboards read the balances; the nightly check finds a balance that differs from the
sums of its entries."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.db.models import Sum

from customers.roles import FINANCE
from rebates import selectors
from rebates.models import AccrualCheck, AgreementBalance, LedgerEntry
from rebates.services import accrual_check_sample, accrual_run_perform, accrual_run_start, agreement_terminate
from rebates.sql.accrual import balances_out_of_step
from tests.factories import (
    AgreementFactory,
    ContractPriceFactory,
    PerUnitRuleFactory,
    ProductFactory,
    PurchaseLineFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = datetime.date(2026, 6, 30)


def accrue():
    run = accrual_run_start(as_of=AS_OF, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk, close_settlements=False)


def agreement_buying(number, units):
    """An agreement at $0.25 a unit with `units` units bought each month, January to June."""
    product = ProductFactory(sku=f"P-{number}")
    agreement = AgreementFactory(number=number)
    agreement.products.set([product])
    ContractPriceFactory(agreement=agreement, product=product)
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
    for m in range(1, 7):
        PurchaseLineFactory(customer=agreement.customer, product=product, month=datetime.date(2026, m, 1),
                            quantity=D(units))
    return agreement


def kept(agreement):
    balance = AgreementBalance.objects.get(agreement=agreement)
    return balance.accrued, balance.paid, balance.forfeited, balance.unpaid


def test_a_run_and_a_forfeiture_keep_each_balance_equal_to_its_entries():
    first, second = agreement_buying("AG-1", 10), agreement_buying("AG-2", 4)
    accrue()
    assert kept(first) == (D("15.00"), D("0.00"), D("0.00"), D("15.00"))
    assert kept(second) == (D("6.00"), D("0.00"), D("0.00"), D("6.00"))
    agreement_terminate(agreement=first, by=None, terminated_on=datetime.date(2026, 6, 30), reason="Left")
    assert kept(first) == (D("15.00"), D("0.00"), D("15.00"), D("0.00"))
    assert balances_out_of_step() == []


def test_an_entry_written_by_raw_sql_updates_its_balance_in_the_same_transaction():
    agreement = agreement_buying("AG-RAW", 10)
    accrue()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO rebates_ledgerentry (agreement_id, period, concerns, kind, quantity, "
                       "eligible_amount, amount, booking_key, booked_at) VALUES (%s, '2026-06-01', '2026-06-01', "
                       "'adjustment', 0, 0, -1.25, 'raw-1', now())", [agreement.pk])
        assert kept(agreement)[3] == D("13.75")
    assert LedgerEntry.objects.filter(agreement=agreement).aggregate(t=Sum("amount"))["t"] == D("13.75")


def test_finance_liability_and_dashboard_figures_read_the_balances():
    agreement_buying("AG-A", 10)
    agreement_buying("AG-B", 4)
    accrue()
    finance = UserFactory(username="fin", role=FINANCE)
    assert selectors.finance_overview(user=finance)["liability"] == {"USD": D("21.00")}
    # Read from the balances: changing a balance behind the ledger's back changes the figure.
    AgreementBalance.objects.filter(agreement__number="AG-B").update(unpaid=D("100.00"))
    assert selectors.finance_overview(user=finance)["liability"] == {"USD": D("115.00")}


def test_the_nightly_check_finds_a_balance_out_of_step_with_its_entries():
    agreement = agreement_buying("AG-DRIFT", 10)
    accrue()
    assert accrual_check_sample(sample_size=5, seed=1).status == AccrualCheck.Status.CLEAN
    AgreementBalance.objects.filter(agreement=agreement).update(unpaid=D("14.00"))
    assert balances_out_of_step() == [(agreement.pk, D("14.00"), D("15.00"))]
    check = accrual_check_sample(sample_size=5, seed=1)
    assert check.status == AccrualCheck.Status.DIFFERENCES
    assert {"agreement": "AG-DRIFT", "month": "balance", "kind": "balance", "quantity": "0",
            "eligible_amount": "0", "amount": "1.00"} in check.differences
