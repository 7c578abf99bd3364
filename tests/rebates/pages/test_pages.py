"""The rebates app's pages through the real middleware: accrual runs, settlements, exports and imports, each
form refusing bad input beside its field with nothing saved half, and each write allowed only to its roles."""

from decimal import Decimal

import pytest
from django.urls import reverse

from rebates.models import AccrualRun, LedgerEntry, Settlement
from rebates.services import settlement_approve
from tests.factories import second_finance_user
from tests.pages.fixtures import html

pytestmark = pytest.mark.django_db




# --- runs, settlements, exports, imports -----------------------------------------------------------------


def test_finance_starts_a_run_and_it_is_queued(scenario, client_for, django_capture_on_commit_callbacks):
    client = client_for(scenario["finance"])
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("accrual-runs"), {"as_of": "2026-11-23"})
    run = AccrualRun.objects.latest("pk")
    assert response.status_code == 302 and response["Location"] == reverse("accrual-run-detail", args=[run.pk])
    assert run.trigger == AccrualRun.Trigger.FINANCE and run.status == AccrualRun.Status.QUEUED
    assert len(queued) == 1
    progress = client.get(reverse("accrual-run-progress", args=[run.pk])).json()
    assert progress["status"] == "queued" and progress["finished"] is False


def test_a_run_without_a_date_is_refused_next_to_the_field(scenario, client_for):
    before = AccrualRun.objects.count()
    response = client_for(scenario["finance"]).post(reverse("accrual-runs"), {"as_of": ""})
    assert response.status_code == 200 and "Give the date to accrue up to." in html(response)
    assert AccrualRun.objects.count() == before


@pytest.mark.parametrize("role", ["am", "pricing"])
def test_only_finance_starts_runs(scenario, client_for, role):
    before = AccrualRun.objects.count()
    assert client_for(scenario[role]).post(reverse("accrual-runs"), {"as_of": "2026-11-23"}).status_code == 403
    assert AccrualRun.objects.count() == before


def test_finance_approves_and_pays_a_settlement(scenario, client_for):
    client = client_for(scenario["finance"])
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    assert settlement.amount == Decimal("30.00")
    settlement_approve(settlement=settlement, by=second_finance_user())
    response = client.post(reverse("settlement-pay", args=[settlement.pk]),
                           {"payment_reference": "CN-2026-0042", "paid_on": "2026-11-23", "confirmed": "yes"})
    assert response.status_code == 302
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.PAID and settlement.payment_reference == "CN-2026-0042"
    assert LedgerEntry.objects.filter(settlement=settlement, kind="payout").get().amount == Decimal("-30.00")


def test_paying_without_a_reference_says_so_and_pays_nothing(scenario, client_for):
    client = client_for(scenario["finance"])
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    settlement_approve(settlement=settlement, by=second_finance_user())
    response = client.post(reverse("settlement-pay", args=[settlement.pk]), {"payment_reference": " ",
                                                                             "paid_on": "2026-11-23"})
    assert response.status_code == 400
    assert "Give the credit note number of the payment." in html(response)
    assert Settlement.objects.get(pk=settlement.pk).status == Settlement.Status.APPROVED
    assert not LedgerEntry.objects.filter(kind="payout").exists()


@pytest.mark.parametrize("role", ["am", "pricing"])
def test_only_finance_approves_and_pays(scenario, client_for, role):
    settlement = Settlement.objects.get(agreement__number="AG-SEED-2025")
    client = client_for(scenario[role])
    expected = 403  # both may see the settlement (the seed customer is the account manager's own)
    assert client.post(reverse("settlement-approve", args=[settlement.pk])).status_code == expected
    assert client.post(reverse("settlement-pay", args=[settlement.pk]),
                       {"payment_reference": "X", "paid_on": "2026-11-23"}).status_code == expected
    assert Settlement.objects.get(pk=settlement.pk).status == Settlement.Status.DRAFT


def test_finance_exports_the_accrual_sheet_at_once_when_small(scenario, client_for):
    response = client_for(scenario["finance"]).post(reverse("exports"), {"report": "accruals", "format": "xlsx"})
    assert response.status_code == 200 and response.content[:2] == b"PK"


def test_an_export_with_a_bad_month_says_so(scenario, client_for):
    response = client_for(scenario["finance"]).post(reverse("exports"), {"report": "accruals", "format": "xlsx",
                                                                         "month_from": "2026-13"})
    assert response.status_code == 400 and "Give a month as YYYY-MM" in html(response)


@pytest.mark.parametrize("name", ["exports", "imports"])
def test_account_managers_may_not_export_or_import(scenario, client_for, name):
    assert client_for(scenario["am"]).get(reverse(name)).status_code == 403


def test_an_import_is_checked_and_shows_its_progress(scenario, client_for, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from rebates.models import ImportBatch
    from rebates.services.imports import purchase_import_preview

    content = (b"erp_line_id,customer,product,month,quantity,unit_price,amount\n"
               b"NEW-1,SEED-001,FAS-101,2026-10,2,12.10,24.20\n")
    client = client_for(scenario["finance"])
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("imports"), {"file": SimpleUploadedFile("october.csv", content)})
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("import-detail", args=[batch.pk])
    assert client.get(reverse("import-progress", args=[batch.pk])).json()["finished"] is False
    purchase_import_preview(batch_id=batch.pk)  # what the queued task does
    progress = client.get(reverse("import-progress", args=[batch.pk])).json()
    assert progress["status"] == "previewed" and progress["progress"] == 100
    assert "Store these 1 lines" in html(client.get(reverse("import-detail", args=[batch.pk])))


def test_an_upload_that_is_not_a_purchase_file_is_refused_next_to_the_field(scenario, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_for(scenario["finance"]).post(reverse("imports"),
                                                    {"file": SimpleUploadedFile("notes.txt", b"hello")})
    assert response.status_code == 400 and "Only .xlsx and .csv files are imported." in html(response)


def test_a_large_export_is_made_in_the_background_with_progress_and_a_download(scenario, client_for, settings,
                                                                               django_capture_on_commit_callbacks):
    from rebates.models import ExportJob
    from rebates.services.exports import export_job_run

    settings.EXCEL_EXPORT_INLINE_ROWS = 1
    client = client_for(scenario["finance"])
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
    other = client_for(scenario["pricing"])
    assert other.get(reverse("export-detail", args=[job.pk])).status_code == 403


def test_finance_approves_every_draft_of_a_selection_at_once(scenario, client_for):
    client = client_for(scenario["finance"])
    page = client.get(reverse("settlements") + "?status=draft").content.decode()
    drafts = Settlement.objects.filter(status="draft")
    count = drafts.count()
    assert count and f"{count} draft" in page and f"Approve all {count}" in page
    stale = client.post(reverse("settlements-approve"), {"selection": "status=draft", "count": str(count + 1)})
    assert stale.status_code == 302 and Settlement.objects.filter(status="draft").count() == count
    done = client.post(reverse("settlements-approve"), {"selection": "status=draft", "count": str(count)})
    assert done.status_code == 302
    assert not Settlement.objects.filter(status="draft").exists()
    assert set(Settlement.objects.filter(status="approved").values_list("approved_by", flat=True)) == {
        scenario["finance"].pk}
