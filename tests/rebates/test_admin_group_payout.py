"""A group agreement's payout (paid to the group, or split among its members by their share of the volume)
changed in the admin: saved through agreement_update as every other term, so the stored setting changes, an
audit record names the change, and the split follows it; the ledger's figures do not change, and a user
without the right to change agreements changes nothing."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from customers import roles
from customers.models import AuditRecord
from rebates.groups import pays_members
from rebates.models import LedgerEntry, RebateAgreement
from tests.factories import PASSWORD, UserFactory
from tests.rebates.test_admin_writes import agreement_data
from tests.rebates.test_buying_groups import (
    accrue,
    scenario,  # noqa: F401  (the worked example, a fixture)
)

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-07-15")]

D = Decimal


def change_url(agreement):
    return reverse("admin:rebates_rebateagreement_change", args=[agreement.pk])


def booked(agreement):
    return sorted(LedgerEntry.objects.filter(agreement=agreement).values_list("concerns", "amount"))


@pytest.fixture
def admin(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(user)
    return client, user


def test_the_payout_changed_in_the_admin_is_stored_and_audited_and_the_ledger_is_unchanged(admin, scenario):  # noqa: F811
    client, user = admin
    agreement = scenario["agreement"]
    accrue()
    before = booked(agreement)
    assert sum(amount for _, amount in before) == D("240.00")  # the worked example: 2% of $12,000
    assert pays_members(agreement)

    response = client.post(change_url(agreement), agreement_data(agreement, group_payout="group"))

    assert response.status_code == 302, response.content.decode()[:3000]
    agreement = RebateAgreement.objects.get(pk=agreement.pk)
    assert agreement.group_payout == "group"
    assert not pays_members(agreement)
    record = AuditRecord.objects.get(action="agreement.update", target_id=str(agreement.pk))
    assert record.actor == user
    assert record.summary == "Agreement AG-GRP changed: group_payout"
    assert record.data == {"group_payout": ["split", "group"]}
    # Who is paid changed, not what was earned: the next run and a full recompute book nothing.
    assert accrue().entries_count == 0
    assert accrue(full=True).entries_count == 0
    assert booked(agreement) == before

    # And back: a second audit record, the split again.
    response = client.post(change_url(agreement), agreement_data(agreement, group_payout="split"))
    assert response.status_code == 302
    assert RebateAgreement.objects.get(pk=agreement.pk).group_payout == "split"
    assert list(AuditRecord.objects.filter(action="agreement.update", target_id=str(agreement.pk))
                .order_by("pk").values_list("data", flat=True)) == [
        {"group_payout": ["split", "group"]}, {"group_payout": ["group", "split"]}]


def test_saving_the_same_payout_again_writes_no_audit_record(admin, scenario):  # noqa: F811
    client, _ = admin
    agreement = scenario["agreement"]
    response = client.post(change_url(agreement), agreement_data(agreement))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert RebateAgreement.objects.get(pk=agreement.pk).group_payout == "split"
    assert not AuditRecord.objects.filter(action="agreement.update").exists()


def test_an_unknown_payout_is_refused_on_the_form_and_nothing_is_kept(admin, scenario):  # noqa: F811
    client, _ = admin
    agreement = scenario["agreement"]
    response = client.post(change_url(agreement), agreement_data(agreement, group_payout="members"))
    assert response.status_code == 200
    assert "group_payout" in response.context["adminform"].form.errors
    assert RebateAgreement.objects.get(pk=agreement.pk).group_payout == "split"
    assert not AuditRecord.objects.filter(action="agreement.update").exists()


def test_finance_cannot_change_the_payout_in_the_admin(client, scenario):  # noqa: F811
    agreement = scenario["agreement"]
    client.force_login(UserFactory(username="fin.admin", role=roles.FINANCE))
    response = client.post(change_url(agreement), agreement_data(agreement, group_payout="group"))
    # Not staff: the admin sends the user to its login page.
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    assert RebateAgreement.objects.get(pk=agreement.pk).group_payout == "split"
    assert not AuditRecord.objects.filter(action="agreement.update").exists()
