"""Operators' ways to start a run: the admin's form and action, and the nightly beat entry."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from config.celery_app import app
from customers import roles
from customers.models import AuditRecord
from rebates.models import AccrualRun, RebateAgreement, Settlement
from rebates.services import accrual_run_perform, accrual_run_start
from tests.factories import PASSWORD, AgreementFactory, PerUnitRuleFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(user)
    return client, user


def test_admin_form_starts_a_run_and_audits_it(admin_client, django_capture_on_commit_callbacks):
    client, user = admin_client
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("admin:rebates_accrualrun_start"), {"as_of": "2026-06-30", "full": "on"})
    assert response.status_code == 302
    run = AccrualRun.objects.get()
    assert (run.as_of, run.full, run.trigger, run.started_by) == (datetime.date(2026, 6, 30), True, "admin", user)
    assert len(callbacks) == 1  # the run is handed to the workers after the commit
    assert AuditRecord.objects.filter(action="accrual_run.start", actor=user, target_id=str(run.pk)).exists()


def test_admin_form_names_a_bad_date(admin_client):
    client, _ = admin_client
    response = client.post(reverse("admin:rebates_accrualrun_start"), {"as_of": "2026-02-30"})
    assert response.status_code == 200
    assert "Enter a valid date." in response.content.decode()
    assert AccrualRun.objects.count() == 0


def test_admin_run_again_action_starts_a_new_run_like_the_selected_one(admin_client):
    client, _ = admin_client
    old = accrual_run_start(as_of=datetime.date(2026, 3, 31), trigger="finance", queue=False)
    accrual_run_perform(run_id=old.pk)
    response = client.post(reverse("admin:rebates_accrualrun_changelist"),
                           {"action": "run_again", "_selected_action": [old.pk]})
    assert response.status_code == 302
    new = AccrualRun.objects.exclude(pk=old.pk).get()
    assert (new.as_of, new.trigger, new.status) == (datetime.date(2026, 3, 31), "admin", "queued")


def test_starting_a_run_from_the_admin_needs_the_permission(client):
    staff = UserFactory(username="staff-am", role=roles.ACCOUNT_MANAGER)
    staff.is_staff = True
    staff.save()
    client.force_login(staff)
    response = client.post(reverse("admin:rebates_accrualrun_start"), {"as_of": "2026-06-30"})
    assert response.status_code == 403
    assert AccrualRun.objects.count() == 0


def test_saving_a_rule_in_the_admin_marks_the_agreement_for_the_next_run(admin_client):
    client, _ = admin_client
    agreement = AgreementFactory()
    rule = PerUnitRuleFactory(agreement=agreement)
    before = RebateAgreement.objects.get(pk=agreement.pk).terms_changed_at
    data = {"agreement": agreement.pk, "kind": "per_unit", "rate_type": "per_unit", "rate": "0.30",
            "bands-TOTAL_FORMS": 0, "bands-INITIAL_FORMS": 0, "bonuses-TOTAL_FORMS": 0, "bonuses-INITIAL_FORMS": 0}
    response = client.post(reverse("admin:rebates_rebaterule_change", args=[rule.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    rule.refresh_from_db()
    assert rule.rate == Decimal("0.300000")
    assert RebateAgreement.objects.get(pk=agreement.pk).terms_changed_at > before


def test_settlements_cannot_be_marked_paid_in_the_admin(admin_client):
    client, _ = admin_client
    agreement = AgreementFactory()
    settlement = Settlement.objects.create(agreement=agreement, period_start=agreement.start_month,
                                           period_end=agreement.end_month, amount=Decimal("30.00"))
    response = client.get(reverse("admin:rebates_settlement_change", args=[settlement.pk]))
    assert response.status_code == 200
    assert 'name="status"' not in response.content.decode()


def test_nightly_entries_exist_in_the_database_scheduler_and_name_registered_tasks():
    entries = {task.name: task for task in PeriodicTask.objects.all()}
    accrual = entries["Nightly accrual run"]
    sweep = entries["Nightly signal sweep"]
    assert (accrual.crontab.hour, accrual.crontab.minute, accrual.enabled) == ("2", "0", True)
    assert (sweep.crontab.hour, sweep.crontab.minute) == ("3", "0")
    sweeper = entries["Waiting work sweeper"]
    assert (sweeper.interval.every, sweeper.interval.period, sweeper.enabled) == (30, "seconds", True)
    app.loader.import_default_modules()
    for task in entries.values():
        assert task.task in app.tasks, f"{task.name} names {task.task}, which no worker knows"


def test_the_nightly_task_starts_an_incremental_run_as_of_today(django_capture_on_commit_callbacks):
    from rebates.tasks import nightly_accrual_run

    with django_capture_on_commit_callbacks():
        run_id = nightly_accrual_run.apply().get()
    run = AccrualRun.objects.get(pk=run_id)
    assert (run.trigger, run.full, run.status) == ("schedule", False, "queued")
    assert AuditRecord.objects.get(action="accrual_run.start", target_id=str(run_id)).actor_label == "Nightly schedule"
