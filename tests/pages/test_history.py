"""Each agreement, settlement and customer page shows its history from the audit records (who closed,
approved, paid or terminated what), and the agreement page the runs that booked its entries; another
manager's records never show."""

import pytest
from django.urls import reverse

from customers.models import AuditRecord
from rebates import history
from rebates.models import AccrualRun, LedgerEntry, Settlement
from rebates.services import settlement_approve
from tests.factories import second_finance_user
from tests.pages.fixtures import html

pytestmark = pytest.mark.django_db


def _approve_and_pay(client, settlement):
    """Approved by a second finance user (four eyes), paid by the client's."""
    settlement_approve(settlement=settlement, by=second_finance_user())
    client.post(reverse("settlement-pay", args=[settlement.pk]),
                {"payment_reference": "CN-2026-0042", "paid_on": "2026-11-23", "confirmed": "yes"})


def test_the_settlement_page_says_who_closed_approved_and_paid_it(scenario, client_for):
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    finance = client_for(scenario["finance"])
    _approve_and_pay(finance, settlement)
    page = html(finance.get(reverse("settlement-detail", args=[settlement.pk])))
    section = page[page.index('id="history"'):]
    rows = section.split("<tr>")[2:]  # past the header
    assert "Paid settlement" in rows[0] and "Felix Brandt" in rows[0]
    approver = second_finance_user()
    assert "Approved settlement" in rows[1] and (approver.get_full_name() or approver.username) in rows[1]
    assert "settlement" in rows[2]  # closed by the run, no user: what acted
    assert "CN-2026-0042" in page


def test_the_agreement_page_shows_its_history_and_the_runs_that_booked_it(scenario, client_for):
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    _approve_and_pay(client_for(scenario["finance"]), settlement)
    page = html(client_for(scenario["am"]).get(reverse("agreement-detail", args=["AG-SEED-2025"])))
    section = page[page.index('id="history"'):]
    assert section.index("Felix Brandt") < section.index("</table>")
    run = AccrualRun.objects.get()
    booked = LedgerEntry.objects.filter(agreement__number="AG-SEED-2025", accrual_run=run)
    runs = page[page.index('id="run-bookings"'):]
    assert f"Run {run.pk}" in runs and f"<td class=\"num\">{booked.count()}</td>" in runs
    # An account manager does not read the desk's runs: no link to them.
    assert reverse("accrual-run-detail", args=[run.pk]) not in runs


def test_the_customer_page_shows_its_agreements_and_settlements_history(scenario, client_for):
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    _approve_and_pay(client_for(scenario["finance"]), settlement)
    page = html(client_for(scenario["am"]).get(reverse("customer-detail", args=["SEED-001"])))
    section = page[page.index('id="history"'):]
    assert "Felix Brandt" in section and f"settlement {settlement.pk}" in section
    # Another manager's records are not part of it.
    theirs = Settlement.objects.filter(agreement__customer__code="C-2001").values_list("pk", flat=True)
    for pk in theirs:
        assert f"settlement {pk}<" not in section


def test_a_long_history_shows_the_newest_and_a_show_all_link(scenario, client_for):
    agreement = scenario["agreements"]["seed"]
    AuditRecord.objects.bulk_create([
        AuditRecord(actor=scenario["finance"], action="agreement.update", target_type="rebates.rebateagreement",
                    target_id=str(agreement.pk), summary=f"Change {n}") for n in range(history.HISTORY_SHOWN + 5)])
    client = client_for(scenario["finance"])
    page = html(client.get(reverse("agreement-detail", args=[agreement.number])))
    section = page[page.index('id="history"'):]
    assert section.count("Change ") == history.HISTORY_SHOWN and 'id="history-all"' in section
    everything = html(client.get(reverse("agreement-detail", args=[agreement.number]), {"history": "all"}))
    section = everything[everything.index('id="history"'):]
    assert section.count("Change ") == history.HISTORY_SHOWN + 5 and 'id="history-all"' not in section


def test_another_managers_settlement_page_is_not_found(scenario, client_for):
    theirs = Settlement.objects.filter(agreement__customer__code="C-2001").first() or Settlement.objects.create(
        agreement=scenario["agreements"]["theirs"], period_start=scenario["agreements"]["theirs"].start_month,
        period_end=scenario["agreements"]["theirs"].start_month)
    assert client_for(scenario["am"]).get(reverse("settlement-detail", args=[theirs.pk])).status_code == 404
