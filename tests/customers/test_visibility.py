import pytest

from customers import roles
from customers.models import Customer
from pricing_signals.models import PriceClaim
from rebates.models import LedgerEntry, PurchaseLine, RebateAgreement
from tests.factories import (
    AgreementFactory,
    CustomerFactory,
    LedgerEntryFactory,
    PriceClaimFactory,
    PurchaseLineFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_a():
    return UserFactory(username="am-a", role=roles.ACCOUNT_MANAGER)


@pytest.fixture
def manager_b():
    return UserFactory(username="am-b", role=roles.ACCOUNT_MANAGER)


@pytest.fixture
def scenario(manager_a, manager_b):
    """Two customers each, with an agreement, a purchase, a ledger entry and a claim."""
    rows = {}
    for manager in (manager_a, manager_b):
        for _ in range(2):
            customer = CustomerFactory(account_manager=manager)
            agreement = AgreementFactory(customer=customer)
            PurchaseLineFactory(customer=customer)
            LedgerEntryFactory(agreement=agreement)
            PriceClaimFactory(customer=customer)
            rows.setdefault(manager.username, []).append(customer)
    return rows


def test_account_manager_sees_only_their_own_customers(scenario, manager_a):
    visible = set(Customer.objects.visible_to(manager_a))
    assert visible == set(scenario["am-a"])


@pytest.mark.parametrize(
    "model, path",
    [
        (RebateAgreement, "customer"),
        (PurchaseLine, "customer"),
        (LedgerEntry, "agreement__customer"),
        (PriceClaim, "customer"),
    ],
)
def test_rows_hanging_off_another_managers_customers_are_invisible(scenario, manager_a, model, path):
    rows = model.objects.visible_to(manager_a)
    assert rows.count() == 2
    assert not rows.exclude(**{f"{path}__account_manager": manager_a}).exists()


@pytest.mark.parametrize("role", [roles.PRICING_MANAGER, roles.FINANCE, roles.ERP_INTEGRATION, roles.ADMINISTRATOR])
def test_every_other_role_sees_every_customer(scenario, role):
    user = UserFactory(role=role)
    assert Customer.objects.visible_to(user).count() == 4


def test_superuser_sees_every_customer(scenario):
    user = UserFactory(is_superuser=True)
    assert Customer.objects.visible_to(user).count() == 4


def test_user_without_a_role_sees_nothing(scenario):
    assert Customer.objects.visible_to(UserFactory()).count() == 0


def test_inactive_user_sees_nothing(scenario, manager_a):
    manager_a.is_active = False
    manager_a.save()
    assert Customer.objects.visible_to(manager_a).count() == 0


def test_anonymous_user_sees_nothing(scenario):
    from django.contrib.auth.models import AnonymousUser

    assert Customer.objects.visible_to(AnonymousUser()).count() == 0
