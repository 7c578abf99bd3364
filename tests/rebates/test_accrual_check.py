"""The nightly check recomputes a random sample of agreements in full, books nothing, and reports any
difference from the ledger as an alert: a logged error and a record on the accrual runs page and in the admin."""

import datetime
import logging
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from customers import roles
from rebates.models import AccrualCheck, LedgerEntry, PurchaseLine
from rebates.services import accrual_check_sample, accrual_run_perform, accrual_run_start
from rebates.tasks import nightly_accrual_check
from tests.factories import AgreementFactory, PerUnitRuleFactory, ProductFactory, PurchaseLineFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = datetime.date(2026, 3, 31)


@pytest.fixture
def booked():
    """Three agreements, each with 10 units a month January to March, booked by a run."""
    agreements = []
    for _ in range(3):
        product = ProductFactory()
        agreement = AgreementFactory(products=[product])
        PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
        for m in (1, 2, 3):
            PurchaseLineFactory(customer=agreement.customer, product=product, month=datetime.date(2026, m, 1))
        agreements.append(agreement)
    run = accrual_run_start(as_of=AS_OF, trigger="command", queue=False)
    assert accrual_run_perform(run_id=run.pk).entries_count == 9
    return agreements


def plant_difference(agreement):
    """A ledger entry no run booked: February holds $1.00 more than the engine says."""
    LedgerEntry.objects.create(agreement=agreement, period=datetime.date(2026, 2, 1), kind="adjustment",
                               amount=D("1.00"), booking_key="planted:1")


def test_a_clean_ledger_reports_no_difference(booked, caplog):
    with caplog.at_level(logging.INFO, logger="rebates.services.checks"):
        check = nightly_accrual_check.apply().get()
    check = AccrualCheck.objects.get(pk=check)
    assert (check.status, check.agreements_checked, check.differences_count, check.as_of) == ("clean", 3, 0, AS_OF)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_a_planted_difference_is_found_logged_and_recorded(booked, caplog):
    plant_difference(booked[1])
    entries = LedgerEntry.objects.count()
    with caplog.at_level(logging.ERROR, logger="rebates.services.checks"):
        check = accrual_check_sample(sample_size=10, seed=1)
    assert (check.status, check.differences_count) == ("differences", 1)
    assert check.differences == [{"agreement": booked[1].number, "month": "2026-02", "kind": "adjustment",
                                  "quantity": "0.000", "eligible_amount": "0.00", "amount": "-1.00"}]
    assert [record.levelname for record in caplog.records] == ["ERROR"]
    assert booked[1].number in caplog.records[0].getMessage()
    assert LedgerEntry.objects.count() == entries  # nothing booked


def test_agreements_with_changes_waiting_for_the_next_run_are_left_out(booked):
    plant_difference(booked[0])
    # A late line for agreement 0: its ledger is meant to differ until the next run books it.
    line = PurchaseLine.objects.filter(customer=booked[0].customer).first()
    PurchaseLine.objects.filter(pk=line.pk).update(quantity=D("12"), amount=D("145.20"))
    check = accrual_check_sample(sample_size=10)
    assert (check.status, check.agreements_checked, check.agreements_pending) == ("clean", 2, 1)


def test_nothing_is_checked_before_the_first_run():
    assert accrual_check_sample(sample_size=5) is None
    assert not AccrualCheck.objects.exists()


def test_the_command_reports_the_differences_and_fails(booked, capsys):
    plant_difference(booked[2])
    with pytest.raises(CommandError, match="1 agreement month differs from a full recompute"):
        call_command("check_accruals", "--sample", "5")
    assert f"{booked[2].number} 2026-02: a full recompute would book -1.00" in capsys.readouterr().out


def test_the_command_says_a_clean_ledger_agrees(booked, capsys):
    call_command("check_accruals", "--sample", "5", "--seed", "3")
    assert "agrees with a full recompute to the cent" in capsys.readouterr().out


def test_the_accrual_runs_page_shows_the_last_check_with_its_differences(booked, client):
    plant_difference(booked[0])
    accrual_check_sample(sample_size=5)
    client.force_login(UserFactory(username="fin", role=roles.FINANCE))
    page = client.get(reverse("accrual-runs")).content.decode()
    assert "1 agreement month differs from a full recompute" in page
    assert booked[0].number in page


def test_the_nightly_check_is_a_beat_entry_after_the_nightly_run():
    entry = PeriodicTask.objects.get(task="rebates.tasks.nightly_accrual_check")
    assert (entry.enabled, entry.crontab.hour, entry.crontab.minute) == (True, "4", "0")
