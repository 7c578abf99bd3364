"""The watchlist's "minimum at risk" on hand-built agreements, and the value tiers as the settings' thresholds
draw them over one book."""

import datetime
from decimal import Decimal

import pytest
from django.test import override_settings

from customers import roles
from customers.models import Customer
from outlook.services import outlook_refresh
from pages.watchlist import MINIMUM_AT_RISK, watchlist
from rebates.models import RebateRule
from rebates.services import accrual_run_perform, accrual_run_start
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory, PurchaseLineFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-03-05")]

D = Decimal
AS_OF = datetime.date(2026, 3, 5)


@pytest.fixture
def manager(db):
    return UserFactory(username="am.minimum", role=roles.ACCOUNT_MANAGER)


def with_minimum(customer, units_a_month):
    """$0.50 a unit, nothing unless the year reaches 1,200 units; bought `units_a_month` in January and
    February at $10.00."""
    product = ProductFactory()
    agreement = AgreementFactory(customer=customer, products=[product], committed_monthly_quantity=None)
    RebateRule.objects.create(agreement=agreement, kind="per_unit", rate_type="per_unit", rate=D("0.50"),
                              minimum=D("1200"))
    for m in (1, 2):
        PurchaseLineFactory(customer=customer, product=product, month=datetime.date(2026, m, 1),
                            quantity=D(units_a_month), unit_price=D("10.00"))
    return agreement


def accrue(as_of=datetime.date(2026, 2, 28)):
    run = accrual_run_start(as_of=as_of, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk)


def test_a_minimum_the_run_rate_misses_is_at_risk_with_the_reason_and_the_money(manager):
    agreement = with_minimum(CustomerFactory(account_manager=manager, code="C-SLOW"), 80)
    accrue()

    [item] = watchlist(user=manager, as_of=AS_OF)

    # 160 units after February: 1,040 to go in the 10 months left is 104 a month, against the customer's 80.
    # Reaching 1,200 units earns $0.50 on each of them: $600.00, which missing the minimum loses.
    assert (item.kind, item.customer_code, item.agreement_number) == (MINIMUM_AT_RISK, "C-SLOW", agreement.number)
    assert item.kind_label == "Minimum at risk"
    assert item.money == D("600.00")
    assert item.currency == "USD"
    assert item.reason == ("Needs 104 units a month to reach its minimum in the 306 days left, buys 80 units; "
                           "missing it loses $600.00.")


def test_a_minimum_the_run_rate_reaches_is_not_on_the_watchlist(manager):
    with_minimum(CustomerFactory(account_manager=manager), 120)  # 960 to go: 96 a month, it buys 120
    accrue()

    assert watchlist(user=manager, as_of=AS_OF) == []


def test_only_the_slow_customer_of_two_is_at_risk(manager):
    with_minimum(CustomerFactory(account_manager=manager, code="C-SLOW"), 80)
    with_minimum(CustomerFactory(account_manager=manager, code="C-FAST"), 120)
    accrue()

    assert [(item.kind, item.customer_code) for item in watchlist(user=manager, as_of=AS_OF)] == [
        (MINIMUM_AT_RISK, "C-SLOW")]


# --- value tiers from settings.OUTLOOK_VALUE_TIERS ----------------------------------------------------------------

# Net purchases of the last 12 months, $10,000 in all: the customers ranked above each bought 0 %, 50 %, 75 %, 90 %
# and 97 % of it.
BOUGHT = {"C-V1": 5000, "C-V2": 2500, "C-V3": 1500, "C-V4": 700, "C-V5": 300}


@pytest.fixture
def book(manager):
    product = ProductFactory()
    for code, dollars in BOUGHT.items():
        customer = CustomerFactory(account_manager=manager, code=code)
        PurchaseLineFactory(customer=customer, product=product, month=datetime.date(2026, 1, 1),
                            quantity=D(dollars // 10), unit_price=D("10.00"))


def tiers():
    return dict(Customer.objects.filter(code__in=BOUGHT).order_by("code").values_list("code", "value_tier"))


def test_the_default_thresholds_make_the_first_80_percent_a_the_next_15_b(book):
    outlook_refresh(as_of=AS_OF)

    assert tiers() == {"C-V1": "A", "C-V2": "A", "C-V3": "A", "C-V4": "B", "C-V5": "C"}


@override_settings(OUTLOOK_VALUE_TIERS={"A_SHARE": "0.50", "B_SHARE": "0.80"})
def test_narrower_thresholds_make_fewer_a_and_b(book):
    result = outlook_refresh(as_of=AS_OF)

    # C-V2 starts at exactly 50 %: not below A_SHARE, so B; C-V4 starts at 90 %, past B_SHARE.
    assert tiers() == {"C-V1": "A", "C-V2": "B", "C-V3": "B", "C-V4": "C", "C-V5": "C"}
    assert result.by_tier == {"A": 1, "B": 2, "C": 2}


@override_settings(OUTLOOK_VALUE_TIERS={"A_SHARE": "0.20", "B_SHARE": "0.99"})
def test_a_wide_b_band_takes_all_but_the_first(book):
    outlook_refresh(as_of=AS_OF)

    assert tiers() == {"C-V1": "A", "C-V2": "B", "C-V3": "B", "C-V4": "B", "C-V5": "B"}


def test_the_same_book_changes_tier_when_the_thresholds_change(book):
    outlook_refresh(as_of=AS_OF)
    with override_settings(OUTLOOK_VALUE_TIERS={"A_SHARE": "0.50", "B_SHARE": "0.80"}):
        result = outlook_refresh(as_of=AS_OF)

    assert result.changed == 3  # C-V2 and C-V3 from A to B, C-V4 from B to C
    assert tiers()["C-V2"] == "B" and tiers()["C-V4"] == "C"
