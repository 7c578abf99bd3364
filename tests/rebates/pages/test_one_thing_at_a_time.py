"""Pages say one thing at a time (issue 20, point 5): a run's badge, bar and details come from one state and
its progress answer sends the same; a job page shows its filters in words; paying a settlement and closing a
signal ask for confirmation first; periods read "November 2026"; a failed form opens on an error summary
linking each field; radio and checkbox groups are fieldsets with a legend and a label per option."""

import re

import pytest
from django.urls import reverse

from pricing_signals.models import MarketSignal
from rebates.models import AccrualRun, ExportJob, LedgerEntry, Settlement
from rebates.services import settlement_approve
from tests.factories import second_finance_user
from tests.pages.fixtures import html

pytestmark = pytest.mark.django_db


def run_page(client, run):
    page = html(client.get(reverse("accrual-run-detail", args=[run.pk])))
    facts = dict(re.findall(r"<dt>([^<]+)</dt><dd[^>]*>([^<]*)</dd>", page))
    badge = re.search(r'id="run-status"[^>]*>([^<]+)<', page).group(1)
    bar = re.search(r'aria-valuenow="(\d+)"', page).group(1)
    words = re.sub(r"<[^>]+>", "", re.search(r'<p class="words"[^>]*>(.*?)</p>', page).group(1))
    return badge, bar, words, facts


def test_a_queued_run_says_queued_everywhere(scenario, client_for):
    client = client_for(scenario["finance"])
    run = AccrualRun.objects.create(trigger=AccrualRun.Trigger.FINANCE, as_of="2026-11-23")
    badge, bar, words, facts = run_page(client, run)
    assert (badge, bar, words) == ("Queued", "0", "0% done · Queued")
    assert facts["Chunks booked"] == "none yet: the run has not started"
    assert facts["Started"] == "waiting for a worker" and facts["Finished"] == "not yet"


def test_a_running_run_says_running_everywhere_and_its_progress_answer_says_the_same(scenario, client_for):
    client = client_for(scenario["finance"])
    run = AccrualRun.objects.create(trigger=AccrualRun.Trigger.FINANCE, as_of="2026-11-23",
                                    status=AccrualRun.Status.RUNNING, chunks_total=4, chunks_done=1,
                                    started_at="2026-11-23T12:00:05Z")
    badge, bar, words, facts = run_page(client, run)
    assert (badge, bar, words) == ("Running", "25", "25% done · Running")
    assert (facts["Chunks booked"], facts["Started"], facts["Finished"]) == ("1 of 4", "2026-11-23 12:00:05",
                                                                               "not yet")
    progress = client.get(reverse("accrual-run-progress", args=[run.pk])).json()
    assert (progress["status_display"], progress["progress"], progress["chunks"], progress["started"]) == (
        badge, int(bar), facts["Chunks booked"], facts["Started"])


def test_a_job_page_shows_its_filters_in_words(scenario, client_for):
    job = ExportJob.objects.create(kind="accrual_sheet", requested_by=scenario["finance"],
                                   filters={"customer": "SEED-001", "month_from": "2026-11", "month_to": "2026-11",
                                            "report": "accruals"})
    page = html(client_for(scenario["finance"]).get(reverse("export-detail", args=[job.pk])))
    assert '<dd id="job-filters">Customer SEED-001; November 2026</dd>' in page
    assert "month_from" not in page and "{" not in page.split("<main", 1)[1].split("</main>", 1)[0]


def test_settlement_periods_read_as_months(scenario, client_for):
    client = client_for(scenario["finance"])
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    settlement_approve(settlement=settlement, by=second_finance_user())
    for page in (html(client.get(reverse("settlement-pay", args=[settlement.pk]))),
                 html(client.get(reverse("agreement-detail", args=["AG-SEED-2025"]))),
                 html(client.get(reverse("settlements") + "?status="))):
        assert "January – December 2025" in page and "2025-01 – 2025-12" not in page


def test_paying_shows_the_payment_once_more_and_pays_only_when_confirmed(scenario, client_for):
    client = client_for(scenario["finance"])
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    settlement_approve(settlement=settlement, by=second_finance_user())
    url = reverse("settlement-pay", args=[settlement.pk])
    filled = {"payment_reference": "CN-2026-0042", "paid_on": "2026-11-23"}

    asked = client.post(url, filled)
    assert asked.status_code == 200
    page = html(asked)
    assert "Pay $30.00 to Harbor Fasteners?" in page and '<dd id="confirm-reference">CN-2026-0042</dd>' in page
    assert Settlement.objects.get(pk=settlement.pk).status == Settlement.Status.APPROVED
    assert not LedgerEntry.objects.filter(kind="payout").exists()

    changed = html(client.post(url, {**filled, "change": "yes"}))  # back to the form, as filled in
    assert 'id="pay-form"' in changed and 'value="CN-2026-0042"' in changed
    assert not LedgerEntry.objects.filter(kind="payout").exists()

    assert client.post(url, {**filled, "confirmed": "yes"}).status_code == 302
    assert Settlement.objects.get(pk=settlement.pk).status == Settlement.Status.PAID
    assert LedgerEntry.objects.filter(kind="payout").count() == 1


def test_closing_a_signal_asks_first_and_closes_only_when_confirmed(signalled_scenario, client_for):
    client = client_for(signalled_scenario["pricing"])
    signal = MarketSignal.objects.get()
    url = reverse("signal-move", args=[signal.pk, "close"])
    page = html(client.get(reverse("signal-detail", args=[signal.pk])))
    assert f'href="{url}"' in page  # the signal page links to the question, it does not close at once
    for asked in (client.get(url), client.post(url)):
        assert asked.status_code == 200 and f"Close market signal #{signal.pk}?" in html(asked)
        assert MarketSignal.objects.get().status == MarketSignal.Status.OPEN
    assert client.post(url, {"confirmed": "yes"}).status_code == 302
    assert MarketSignal.objects.get().status == MarketSignal.Status.CLOSED


def test_only_a_pricing_manager_is_asked_to_close_a_signal(signalled_scenario, client_for):
    signal = MarketSignal.objects.get()
    url = reverse("signal-move", args=[signal.pk, "close"])
    for role in ("am", "finance"):
        client = client_for(signalled_scenario[role])
        assert client.get(url).status_code == 403
        assert client.post(url, {"confirmed": "yes"}).status_code == 403
    assert MarketSignal.objects.get().status == MarketSignal.Status.OPEN


def test_the_decision_form_groups_its_radios_and_checkboxes_with_a_label_each(signalled_scenario, client_for):
    signal = MarketSignal.objects.get()
    page = html(client_for(signalled_scenario["pricing"]).get(reverse("signal-detail", args=[signal.pk])))
    form = page[page.index('id="decision-form"'):]
    assert re.search(r'<fieldset class="field group" id="field-decision"[^>]*>\s*<legend>Decision</legend>', form)
    assert re.search(r'<fieldset class="field group" id="field-agreements"[^>]*>\s*<legend>Agreements</legend>', form)
    inputs = re.findall(r'<input type="(?:radio|checkbox)"[^>]*id="([^"]+)"', form)
    labels = re.findall(r'<label for="([^"]*)"', form)
    assert len(inputs) >= 5 and sorted(inputs) == sorted(label for label in labels if label in inputs)
    assert "" not in labels  # no empty for
    # Each label holds one input: none wraps every checkbox.
    assert all(chunk.count("<input") <= 1 for chunk in re.findall(r"<label.*?</label>", form, flags=re.S))


def test_a_failed_submit_opens_on_an_error_summary_linking_each_field(signalled_scenario, client_for):
    client = client_for(signalled_scenario["am"])
    response = client.post(reverse("claim-new"), {"customer": "SEED-001", "claimed_unit_price": "eleven"})
    assert response.status_code == 400
    page = html(response)
    summary = page[page.index('id="error-summary"'):page.index("</div>", page.index('id="error-summary"'))]
    assert 'role="alert"' in summary and 'tabindex="-1"' in summary and "autofocus" in summary
    links = dict(re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary))
    assert links["id_product"].startswith("Product: ") and links["id_competitor"].startswith("Competitor: ")
    assert links["id_claimed_unit_price"] == "Claimed unit price (in the customer currency): Give a price like 11.40."
    for target in links:
        assert f'id="{target}"' in page


@pytest.mark.parametrize(("role", "name", "args"), [
    ("finance", "settlements", []), ("finance", "exports", []), ("am", "agreement-detail", ["AG-SEED-2026"]),
])
def test_no_table_header_is_empty(scenario, client_for, role, name, args):
    if name == "exports":
        ExportJob.objects.create(kind="accrual_sheet", requested_by=scenario["finance"])
    page = html(client_for(scenario[role]).get(reverse(name, args=args) + ("?status=" if name == "settlements"
                                                                            else "")))
    assert "<table" in page and not re.search(r"<th[^>]*>\s*</th>", page)
