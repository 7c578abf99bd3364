import pytest
from django.contrib.auth.models import Group, Permission

from customers import roles
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_migrate_creates_every_role_group():
    assert set(Group.objects.values_list("name", flat=True)) >= set(roles.ROLES)


def test_only_the_account_manager_lacks_view_all_customers():
    for name in roles.ROLES:
        has_it = Group.objects.get(name=name).permissions.filter(codename="view_all_customers").exists()
        assert has_it == (name != roles.ACCOUNT_MANAGER), name


@pytest.mark.parametrize(
    "role, permission, allowed",
    [
        (roles.FINANCE, "rebates.pay_settlement", True),
        (roles.FINANCE, "rebates.approve_settlement", True),
        (roles.FINANCE, "rebates.start_accrual_run", True),
        (roles.FINANCE, "pricing_signals.decide_marketsignal", False),
        (roles.PRICING_MANAGER, "pricing_signals.decide_marketsignal", True),
        (roles.PRICING_MANAGER, "rebates.pay_settlement", False),
        (roles.ACCOUNT_MANAGER, "pricing_signals.add_priceclaim", True),
        (roles.ACCOUNT_MANAGER, "rebates.pay_settlement", False),
        (roles.ACCOUNT_MANAGER, "rebates.add_purchaseline", False),
        (roles.ERP_INTEGRATION, "rebates.add_purchaseline", True),
        (roles.ERP_INTEGRATION, "rebates.pay_settlement", False),
        (roles.ERP_INTEGRATION, "pricing_signals.decide_marketsignal", False),
    ],
)
def test_role_permissions_follow_the_users_table(role, permission, allowed):
    user = UserFactory(role=role)
    assert user.has_perm(permission) is allowed


def test_administrator_group_holds_every_permission():
    assert Group.objects.get(name=roles.ADMINISTRATOR).permissions.count() == Permission.objects.count()


def test_roles_sync_is_idempotent():
    before = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    roles.roles_sync()
    after = {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}
    assert before == after


def test_no_ledger_entry_change_or_delete_permission_is_given_to_any_role_but_the_administrator():
    for name in set(roles.ROLES) - {roles.ADMINISTRATOR}:
        codenames = set(Group.objects.get(name=name).permissions.values_list("codename", flat=True))
        assert not codenames & {"change_ledgerentry", "delete_ledgerentry"}, name
