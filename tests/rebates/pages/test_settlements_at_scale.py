"""Settlements at scale on the pages: a second approver above the threshold, paying a selection at once with a
numbering pattern or a credit note number each, and the customer statement linked from the settlement."""

import datetime
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest
from django.urls import reverse

from rebates.models import LedgerEntry, Settlement
from rebates.services import settlements_approve
from tests.factories import second_finance_user
from tests.pages.fixtures import html

pytestmark = pytest.mark.django_db


def approve_all(client, query="status=draft"):
    count = Settlement.objects.filter(status="draft").count()
    return client.post(reverse("settlements-approve"), {"selection": query, "count": str(count)})


def test_above_the_threshold_the_list_asks_another_person_for_the_second_approval(scenario, client, settings):
    settings.SETTLEMENT_SECOND_APPROVAL_ABOVE = Decimal("0.00")
    drafts = list(Settlement.objects.filter(status="draft").values_list("pk", flat=True))
    assert drafts
    client.force_login(scenario["finance"])
    approve_all(client)
    assert set(Settlement.objects.filter(pk__in=drafts).values_list("status", flat=True)) == {"approving"}
    page = html(client.get(reverse("settlements") + "?status=approving"))
    assert "Awaiting second approval" in page and "Second approval</button>" not in page
    assert "Approve all" not in page  # nothing left for the first approver
    client.force_login(second_finance_user())
    page = html(client.get(reverse("settlements") + "?status=approving"))
    assert f"Approve all {len(drafts)}" in page and "Second approval</button>" in page
    done = client.post(reverse("settlements-approve"), {"selection": "status=approving", "count": str(len(drafts))})
    assert done.status_code == 302
    assert set(Settlement.objects.filter(pk__in=drafts).values_list("status", flat=True)) == {"approved"}
    detail = html(client.get(reverse("settlement-detail", args=[drafts[0]])))
    second = second_finance_user()
    assert "Felix Brandt" in detail and "Second approval" in detail
    assert (second.get_full_name() or second.username) in detail


def test_the_first_approver_giving_the_second_too_is_told_why_not(scenario, client, settings):
    settings.SETTLEMENT_SECOND_APPROVAL_ABOVE = Decimal("0.00")
    settlement = Settlement.objects.filter(status="draft").first()
    client.force_login(scenario["finance"])
    client.post(reverse("settlement-approve", args=[settlement.pk]))
    answer = client.post(reverse("settlement-approve", args=[settlement.pk]), follow=True)
    assert "another person with the right to approve must give the second" in html(answer)
    assert Settlement.objects.get(pk=settlement.pk).status == "approving"


@pytest.fixture
def approved(scenario):
    ids = list(Settlement.objects.filter(status="draft").order_by("pk").values_list("pk", flat=True))
    settlements_approve(settlement_ids=ids, by=second_finance_user())
    return ids


def test_finance_pays_the_approved_selection_by_a_pattern(scenario, client, approved):
    client.force_login(scenario["finance"])
    listed = html(client.get(reverse("settlements") + "?status=approved"))
    assert f"Pay all {len(approved)}" in listed
    form = client.get(reverse("settlements-pay") + "?status=approved")
    assert form.status_code == 200 and f"Pay {len(approved)} settlement" in html(form)
    paid = client.post(reverse("settlements-pay"), {"selection": "status=approved", "count": str(len(approved)),
                                                    "pattern": "CN-2026-{n:05d}", "start": "41",
                                                    "paid_on": "2026-11-23"})
    assert paid.status_code == 302
    assert list(Settlement.objects.filter(pk__in=approved).order_by("pk").values_list("payment_reference", flat=True)) \
        == [f"CN-2026-{41 + i:05d}" for i in range(len(approved))]
    assert LedgerEntry.objects.filter(kind="payout", settlement_id__in=approved).count() == len(
        [pk for pk in approved if Settlement.objects.get(pk=pk).amount > 0])
    # Sent again (a second click), the selection holds nothing to pay: nothing is paid twice.
    again = client.post(reverse("settlements-pay"), {"selection": "status=approved", "count": str(len(approved)),
                                                     "pattern": "CN-2026-{n:05d}", "start": "41",
                                                     "paid_on": "2026-11-23"})
    assert again.status_code == 400 and "nothing was paid" in html(again)


def test_finance_pays_with_a_credit_note_number_typed_for_each(scenario, client, approved):
    client.force_login(scenario["finance"])
    body = {"selection": "status=approved", "count": str(len(approved)), "paid_on": "2026-11-23"}
    missing = client.post(reverse("settlements-pay"), body)
    assert missing.status_code == 400 and "Give its credit note number" in html(missing)
    body.update({f"reference-{pk}": f"CN-X{pk}" for pk in approved})
    assert client.post(reverse("settlements-pay"), body).status_code == 302
    assert {s.pk: s.payment_reference for s in Settlement.objects.filter(pk__in=approved)} == {
        pk: f"CN-X{pk}" for pk in approved}


def test_a_pattern_reusing_a_number_is_refused_on_the_page_naming_it(scenario, client, approved):
    client.force_login(scenario["finance"])
    earlier = Settlement.objects.create(
        agreement=scenario["agreements"]["echo_one"], period_start=datetime.date(2026, 1, 1),
        period_end=datetime.date(2026, 1, 1), interim=True, status="paid", approved_by=second_finance_user(),
        paid_by=scenario["finance"], paid_on=datetime.date(2026, 2, 1), payment_reference="CN-1")
    refused = client.post(reverse("settlements-pay"), {"selection": "status=approved", "count": str(len(approved)),
                                                       "pattern": "CN-{n}", "start": "1", "paid_on": "2026-11-23"})
    assert refused.status_code == 409
    assert f"Credit note CN-1 is already settlement {earlier.pk}" in html(refused).replace("&#x27;", "'")
    assert not Settlement.objects.filter(pk__in=approved, status="paid").exists()


def test_the_approver_is_offered_nothing_to_pay(scenario, client, approved):
    client.force_login(second_finance_user())
    assert "Pay all" not in html(client.get(reverse("settlements") + "?status=approved"))
    page = html(client.get(reverse("settlements-pay") + "?status=approved"))
    assert "approved by you" in page and "pay-many-form" not in page
    assert client.post(reverse("settlements-pay"), {"selection": "status=approved", "count": str(len(approved)),
                                                    "pattern": "CN-{n}", "paid_on": "2026-11-23"}).status_code == 400
    assert not Settlement.objects.filter(status="paid").exists()


def test_the_settlement_page_links_its_customer_statement(scenario, client):
    settlement = Settlement.objects.select_related("agreement").first()
    client.force_login(scenario["am"] if settlement.agreement.customer.account_manager == scenario["am"]
                       else scenario["finance"])
    page = html(client.get(reverse("settlement-detail", args=[settlement.pk])))
    link = reverse("settlement-statement", args=[settlement.pk])
    assert f'href="{link}"' in page
    download = client.get(link)
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    sheet = openpyxl.load_workbook(BytesIO(download.content)).active
    assert [row[1].value for row in sheet.iter_rows() if row[0].value == "Agreement"] == [settlement.agreement.number]
    pdf = reverse("settlement-statement-pdf", args=[settlement.pk])
    assert f'href="{pdf}"' in page
    download = client.get(pdf)
    assert download.status_code == 200 and download.content.startswith(b"%PDF-")
