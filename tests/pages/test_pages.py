"""The pages, through the real middleware: what each role sees, what each form does with bad input, and
that every write goes through its service (nothing saved half)."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from pricing_signals.models import MarketSignal, PriceClaim
from rebates.models import AccrualRun, ContractPrice, LedgerEntry, Settlement

pytestmark = pytest.mark.django_db


def html(response):
    return response.content.decode()


def claim_post(book, **changes):
    data = {"customer": "SEED-001", "product": "FAS-101", "competitor": "Apex Supply", "claimed_unit_price": "11.40",
            "reported_on": "2026-09-08", "channel": "call", "note": "Quoted on the phone"}
    data.update(changes)
    return data


# --- dashboard -------------------------------------------------------------------------------------------


def test_account_manager_dashboard_shows_accrued_at_stake_shortfall_and_open_signals(signalled_book, client_for):
    page = html(client_for(signalled_book["am"]).get(reverse("dashboard")))
    assert "Harbor Fasteners" in page and "Northgate Builders" in page
    assert "Someone Else Ltd" not in page and "Riverside Hardware" not in page
    # Worked example 1: 10 units a month at $0.25: 2025's $30.00 and January to October 2026's $25.00.
    assert "$55.00" in page
    signal = MarketSignal.objects.get()
    assert f"#{signal.pk} FAS-101" in page


def test_pricing_manager_dashboard_lists_open_signals_with_their_exposure(signalled_book, client_for):
    page = html(client_for(signalled_book["pricing"]).get(reverse("dashboard")))
    signal = MarketSignal.objects.get()
    assert reverse("signal-detail", args=[signal.pk]) in page
    assert "Open market signals" in page
    # Exposure: the other manager's C-2001 at $12.40 is above the signal's median; claimants are not counted.
    assert "1 (1 customers)" in page


def test_finance_dashboard_shows_last_runs_liability_and_settlements_waiting(book, client_for):
    page = html(client_for(book["finance"]).get(reverse("dashboard")))
    run = AccrualRun.objects.get()
    assert reverse("accrual-run-detail", args=[run.pk]) in page
    liability = sum(LedgerEntry.objects.values_list("amount", flat=True), Decimal("0"))
    assert f"${liability:,.2f}" in page
    assert "draft settlements to approve" in page


# --- customer and agreement pages ------------------------------------------------------------------------


def test_customer_page_shows_agreements_purchases_by_month_claims_and_credibility(book, client_for):
    page = html(client_for(book["am"]).get(reverse("customer-detail", args=["SEED-001"])))
    assert "AG-SEED-2026" in page and "AG-SEED-2025" in page
    assert "<svg" in page and "2026-10" in page
    # April and June: nobody echoed them, so the customer's credibility is 0 of 2.
    assert "0.0%" in page and "(0 of 2)" in page


def test_agreement_page_says_the_terms_in_words_and_draws_the_sheet(book, client_for):
    page = html(client_for(book["am"]).get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    assert "$0.25 a unit, paid annually." in page
    assert '<svg class="chart"' in page and "polyline" in page
    # Ten months of worked example 1: $2.50 each, $25.00 to date, all of it at stake.
    assert page.count("$2.50") >= 10
    assert 'id="at-stake">$25.00<' in page
    assert "contract start" in page


def test_agreement_page_counts_complete_months_short_and_flags_the_month_under_way_so_far(book, client_for):
    page = html(client_for(book["am"]).get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    # Ten units bought January to October, nothing yet in November, the month under way: no shortfall yet.
    assert re.search(r'<div class="figure" id="shortfall-months">0</div><div class="muted">shortfall months', page)
    november = page[page.index("<td>2026-11</td>"):]
    assert november[:november.index("</tr>")].rstrip().endswith("<td>below so far</td>")


def test_agreement_chart_axes_step_in_round_amounts(book, client_for):
    page = html(client_for(book["am"]).get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    chart = page[page.index('<svg class="chart"'):page.index("</svg>")]
    axis = re.findall(r'<text class="axis" x="[\d.]+" y="[\d.]+" text-anchor="(?:end|start)">([^<]+)</text>', chart)
    # $2.50 a month on a $0-$4 scale, $25.00 to date on a $0-$40 one: every grid line a round amount.
    assert axis == ["$0.00", "$0", "$1.00", "$10", "$2.00", "$20", "$3.00", "$30", "$4.00", "$40"]


def test_agreement_sheet_downloads_as_excel(book, client_for):
    response = client_for(book["finance"]).get(reverse("agreement-sheet", args=["AG-SEED-2026"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response.content[:2] == b"PK"


# --- logging a claim -------------------------------------------------------------------------------------


def test_logging_the_seed_september_claim_shows_it_corroborated_at_once(book, client_for):
    client = client_for(book["am"])
    response = client.post(reverse("claim-new"), claim_post(book), follow=True)
    page = html(response)
    claim = PriceClaim.objects.get(reported_on=date(2026, 9, 8))
    assert claim.status == PriceClaim.Status.CORROBORATED
    assert 'id="claim-status">Corroborated<' in page
    # The echo of the manager's own customer is named; the other manager's customer only counted.
    assert "Northgate Builders" in page and "Riverside Hardware" not in page
    assert "1 customer of other account managers" in page
    # $11.40 is below net-net $12.10 - $0.25 = $11.85.
    assert "undercuts our net-net price of <strong>$11.85</strong>" in page


def test_a_claim_above_net_net_says_it_does_not_undercut(book, client_for):
    client = client_for(book["am"])
    page = html(client.post(reverse("claim-new"), claim_post(book, claimed_unit_price="11.95"), follow=True))
    assert "It does not undercut us" in page


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"claimed_unit_price": "abc"}, "claimed_unit_price", "Give a price like 11.40."),
    ({"claimed_unit_price": "0"}, "claimed_unit_price", "A price is more than zero."),
    ({"reported_on": "2031-01-01"}, "reported_on", ""),
    ({"customer": "C-2001"}, "customer", "Choose one of your customers."),
    ({"competitor": ""}, "competitor", "Name the competitor."),
])
def test_a_bad_claim_is_refused_with_a_message_next_to_the_field_and_nothing_saved(book, client_for, changes, field,
                                                                                     message):
    before = PriceClaim.objects.count()
    response = client_for(book["am"]).post(reverse("claim-new"), claim_post(book, **changes))
    assert response.status_code == 400
    page = html(response)
    start = page.index(f'id="field-{field}"')
    block = page[start:page.index("</div>\n", page.index('class="error"', start)) + 6]
    assert 'class="error"' in block and message in block
    assert PriceClaim.objects.count() == before


def test_finance_may_not_log_claims(book, client_for):
    client = client_for(book["finance"])
    assert client.get(reverse("claim-new")).status_code == 403
    assert client.post(reverse("claim-new"), claim_post(book)).status_code == 403


def test_a_write_without_a_csrf_token_is_refused(book):
    client = Client(enforce_csrf_checks=True)
    client.force_login(book["am"])
    before = PriceClaim.objects.count()
    assert client.post(reverse("claim-new"), claim_post(book)).status_code == 403
    assert PriceClaim.objects.count() == before


# --- signals -------------------------------------------------------------------------------------------


def test_signals_page_draws_the_timeline_with_the_signal_window(signalled_book, client_for):
    page = html(client_for(signalled_book["am"]).get(reverse("signals")))
    signal = MarketSignal.objects.get()
    assert 'class="chart timeline"' in page
    assert f"Signal #{signal.pk}" in page and 'class="window open"' in page
    # The last half year: June's and September's claims of the seed customer and its echo by the manager's own
    # customer; the other manager's customer's claim is not drawn, nor April's (before the range).
    assert page.count('<circle class="claim') == 3


def test_pricing_manager_matches_the_signal_and_the_price_history_shows_it(signalled_book, client_for):
    client = client_for(signalled_book["pricing"])
    signal = MarketSignal.objects.get()
    terms = {"decision": "match", "match_price": "11.40", "effective_from": "2026-11", "agreements": ["AG-SEED-2026"],
             "reason": "Three customers quoted Apex at 11.40"}
    # First the preview: nothing recorded yet.
    preview = html(client.post(reverse("signal-detail", args=[signal.pk]), terms))
    assert 'id="match-preview"' in preview and "Record the match" in preview
    assert MarketSignal.objects.get().status == MarketSignal.Status.OPEN
    previewed = re.search(r'name="previewed" value="([^"]+)"', preview).group(1)
    response = client.post(reverse("signal-detail", args=[signal.pk]), {**terms, "previewed": previewed},
                           follow=True)
    assert response.status_code == 200
    signal.refresh_from_db()
    assert signal.status == MarketSignal.Status.MATCHED
    page = html(client.get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    assert f"matched market signal #{signal.pk}" in page and "$11.40" in page


def test_a_match_without_a_month_says_so_next_to_the_field_and_changes_no_price(signalled_book, client_for):
    client = client_for(signalled_book["pricing"])
    signal = MarketSignal.objects.get()
    before = ContractPrice.objects.count()
    response = client.post(reverse("signal-detail", args=[signal.pk]), {
        "decision": "match", "match_price": "11.40", "effective_from": "November", "agreements": ["AG-SEED-2026"]})
    assert response.status_code == 400
    assert "Give a month as YYYY-MM" in html(response)
    assert ContractPrice.objects.count() == before
    assert MarketSignal.objects.get().status == MarketSignal.Status.OPEN


def test_a_hold_needs_a_reason(signalled_book, client_for):
    signal = MarketSignal.objects.get()
    response = client_for(signalled_book["pricing"]).post(reverse("signal-detail", args=[signal.pk]),
                                                          {"decision": "hold", "reason": ""})
    assert response.status_code == 400
    assert "Say why prices are held." in html(response)


def test_only_a_pricing_manager_sees_and_sends_the_decision_form(signalled_book, client_for):
    signal = MarketSignal.objects.get()
    client = client_for(signalled_book["am"])
    assert 'id="decision-form"' not in html(client.get(reverse("signal-detail", args=[signal.pk])))
    assert client.post(reverse("signal-detail", args=[signal.pk]), {"decision": "hold", "reason": "no"}
                       ).status_code == 403
    assert MarketSignal.objects.get().status == MarketSignal.Status.OPEN


def test_evidence_record_downloads(signalled_book, client_for):
    signal = MarketSignal.objects.get()
    response = client_for(signalled_book["pricing"]).get(reverse("signal-evidence", args=[signal.pk]))
    assert response.status_code == 200
    assert b"Market signal evidence record" in response.content


# --- runs, settlements, exports, imports -----------------------------------------------------------------


def test_finance_starts_a_run_and_it_is_queued(book, client_for, django_capture_on_commit_callbacks):
    client = client_for(book["finance"])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("accrual-runs"), {"as_of": "2026-11-23"})
    run = AccrualRun.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == reverse("accrual-run-detail", args=[run.pk])
    assert run.trigger == AccrualRun.Trigger.FINANCE and run.status == AccrualRun.Status.QUEUED
    assert len(queued) == 1
    progress = client.get(reverse("accrual-run-progress", args=[run.pk])).json()
    assert progress["status"] == "queued" and progress["finished"] is False


def test_a_run_without_a_date_is_refused_next_to_the_field(book, client_for):
    before = AccrualRun.objects.count()
    response = client_for(book["finance"]).post(reverse("accrual-runs"), {"as_of": ""})
    assert response.status_code == 200 and "Give the date to accrue up to." in html(response)
    assert AccrualRun.objects.count() == before


@pytest.mark.parametrize("role", ["am", "pricing"])
def test_only_finance_starts_runs(book, client_for, role):
    before = AccrualRun.objects.count()
    assert client_for(book[role]).post(reverse("accrual-runs"), {"as_of": "2026-11-23"}).status_code == 403
    assert AccrualRun.objects.count() == before


def test_finance_approves_and_pays_a_settlement(book, client_for):
    client = client_for(book["finance"])
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    assert settlement.amount == Decimal("30.00")
    client.post(reverse("settlement-approve", args=[settlement.pk]))
    response = client.post(reverse("settlement-pay", args=[settlement.pk]),
                           {"payment_reference": "CN-2026-0042", "paid_on": "2026-11-23"})
    assert response.status_code == 302
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.PAID and settlement.payment_reference == "CN-2026-0042"
    assert LedgerEntry.objects.filter(settlement=settlement, kind="payout").get().amount == Decimal("-30.00")


def test_paying_without_a_reference_says_so_and_pays_nothing(book, client_for):
    client = client_for(book["finance"])
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    client.post(reverse("settlement-approve", args=[settlement.pk]))
    response = client.post(reverse("settlement-pay", args=[settlement.pk]), {"payment_reference": " ",
                                                                             "paid_on": "2026-11-23"})
    assert response.status_code == 400
    assert "Give the credit note number of the payment." in html(response)
    assert Settlement.objects.get(pk=settlement.pk).status == Settlement.Status.APPROVED
    assert not LedgerEntry.objects.filter(kind="payout").exists()


@pytest.mark.parametrize("role", ["am", "pricing"])
def test_only_finance_approves_and_pays(book, client_for, role):
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    client = client_for(book[role])
    expected = 403  # both may see the settlement (the seed customer is the account manager's own)
    assert client.post(reverse("settlement-approve", args=[settlement.pk])).status_code == expected
    assert client.post(reverse("settlement-pay", args=[settlement.pk]),
                       {"payment_reference": "X", "paid_on": "2026-11-23"}).status_code == expected
    assert Settlement.objects.get(pk=settlement.pk).status == Settlement.Status.DRAFT


def test_finance_exports_the_accrual_sheet_at_once_when_small(book, client_for):
    response = client_for(book["finance"]).post(reverse("exports"), {"report": "accruals", "format": "xlsx"})
    assert response.status_code == 200 and response.content[:2] == b"PK"


def test_an_export_with_a_bad_month_says_so(book, client_for):
    response = client_for(book["finance"]).post(reverse("exports"), {"report": "accruals", "format": "xlsx",
                                                                     "month_from": "2026-13"})
    assert response.status_code == 400 and "Give a month as YYYY-MM" in html(response)


@pytest.mark.parametrize("name", ["exports", "imports"])
def test_account_managers_may_not_export_or_import(book, client_for, name):
    assert client_for(book["am"]).get(reverse(name)).status_code == 403


def test_an_import_is_checked_and_shows_its_progress(book, client_for, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from rebates.models import ImportBatch
    from rebates.services.imports import purchase_import_preview

    content = (b"erp_line_id,customer,product,month,quantity,unit_price,amount\n"
               b"NEW-1,SEED-001,FAS-101,2026-10,2,12.10,24.20\n")
    client = client_for(book["finance"])
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("imports"), {"file": SimpleUploadedFile("october.csv", content)})
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("import-detail", args=[batch.pk])
    assert client.get(reverse("import-progress", args=[batch.pk])).json()["finished"] is False
    purchase_import_preview(batch_id=batch.pk)  # what the queued task does
    progress = client.get(reverse("import-progress", args=[batch.pk])).json()
    assert progress["status"] == "previewed" and progress["progress"] == 100
    assert "Store these 1 lines" in html(client.get(reverse("import-detail", args=[batch.pk])))


def test_an_upload_that_is_not_a_purchase_file_is_refused_next_to_the_field(book, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_for(book["finance"]).post(reverse("imports"),
                                                {"file": SimpleUploadedFile("notes.txt", b"hello")})
    assert response.status_code == 400 and "Only .xlsx and .csv files are imported." in html(response)


def test_a_large_export_is_made_in_the_background_with_progress_and_a_download(book, client_for, settings,
                                                                               django_capture_on_commit_callbacks):
    from rebates.models import ExportJob
    from rebates.services.exports import export_job_run

    settings.EXCEL_EXPORT_INLINE_ROWS = 1
    client = client_for(book["finance"])
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("exports"), {"report": "accruals", "format": "xlsx"})
    job = ExportJob.objects.get()
    assert response["Location"] == reverse("export-detail", args=[job.pk])
    assert client.get(reverse("export-progress", args=[job.pk])).json()["finished"] is False
    assert client.get(reverse("export-file", args=[job.pk])).status_code == 404  # not made yet
    export_job_run(job_id=job.pk)  # what the queued task does
    progress = client.get(reverse("export-progress", args=[job.pk])).json()
    assert (progress["status"], progress["progress"], progress["finished"]) == ("done", 100, True)
    download = client.get(reverse("export-file", args=[job.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content)[:2] == b"PK"
    # A user who may not export gets no export at all.
    other = client_for(book["pricing"])
    assert other.get(reverse("export-detail", args=[job.pk])).status_code == 403
