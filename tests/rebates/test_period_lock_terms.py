"""A change of terms for months finance has locked (docs/period-lock.md): the agreement's rate goes up after
August and September are locked; the next run books each locked month's difference into the first open month
after it (October), recording the month it concerns, books the open months' differences into themselves, and
leaves the locked months' entries untouched; a rerun and a full recompute then book nothing."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import Sum

from customers import roles
from rebates.models import LedgerEntry
from rebates.services.catalog import agreement_update
from rebates.services.period_lock import period_lock
from tests import ledger
from tests.factories import AgreementFactory, PerUnitRuleFactory, ProductFactory, PurchaseLineFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = datetime.date(2026, 11, 23)
END_OF_OCTOBER = datetime.date(2026, 10, 31)


def month(m):
    return datetime.date(2026, m, 1)


@pytest.mark.parametrize("minimum", [None, D("5")], ids=["flat-rule-statement", "engine-copy"])
def test_a_rate_change_for_locked_months_books_their_difference_into_october(minimum):
    finance = UserFactory(username="terms-finance", role=roles.FINANCE)
    product = ProductFactory(sku="LOCK-T")
    agreement = AgreementFactory(number="AG-LOCK-T", products=[product])
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"), minimum=minimum)
    for m in range(1, 11):  # 10 units a month, January to October: $2.50 a month
        PurchaseLineFactory(customer=agreement.customer, product=product, month=month(m), quantity=D("10"),
                            unit_price=D("12.10"))
    ledger.accrue(END_OF_OCTOBER)
    period_lock(month=month(8), by=finance, today=TODAY)
    period_lock(month=month(9), by=finance, today=TODAY)
    locked_before = sorted(LedgerEntry.objects.filter(agreement=agreement, period__in=[month(8), month(9)])
                           .values_list("id", "period", "concerns", "kind", "amount"))
    assert [(period, amount) for _, period, _, _, amount in locked_before] == [
        (month(8), D("2.50")), (month(9), D("2.50"))]
    known = set(LedgerEntry.objects.filter(agreement=agreement).values_list("id", flat=True))

    # From $0.25 to $0.30 a unit for the whole term: $0.50 more in each month bought.
    agreement_update(by=None, agreement=agreement,
                     rule={"kind": "per_unit", "rate_type": "per_unit", "rate": D("0.30")})
    run = ledger.accrue(END_OF_OCTOBER)

    assert run.status == "succeeded"
    new = sorted(LedgerEntry.objects.filter(agreement=agreement).exclude(id__in=known)
                 .values_list("concerns", "period", "kind", "amount"))
    assert new == [(month(m), month(m), "adjustment", D("0.50")) for m in range(1, 8)] + [
        (month(8), month(10), "adjustment", D("0.50")),
        (month(9), month(10), "adjustment", D("0.50")),
        (month(10), month(10), "adjustment", D("0.50"))]
    # The locked months hold what they held, and nothing was booked into them.
    assert sorted(LedgerEntry.objects.filter(agreement=agreement, period__in=[month(8), month(9)])
                  .values_list("id", "period", "concerns", "kind", "amount")) == locked_before
    # Per month concerned the ledger holds what the new rate earns: $3.00, $30.00 in all.
    per_month = dict(LedgerEntry.objects.filter(agreement=agreement).values("concerns")
                     .annotate(total=Sum("amount")).values_list("concerns", "total"))
    assert per_month == {month(m): D("3.00") for m in range(1, 11)}
    assert ledger.accrue(END_OF_OCTOBER).entries_count == 0
    assert ledger.accrue(END_OF_OCTOBER, full=True).entries_count == 0
