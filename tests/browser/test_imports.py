"""Finance imports a purchase file in real headless Chromium: uploads it, watches it checked (the progress bar),
reads the preview counts, stores it, watches it stored, and the lines are there; and asks for a large export,
watches it made and downloads it. A real Celery worker does the queued work, as in production."""

import io
from decimal import Decimal

import pytest

from rebates.models import ImportBatch, PurchaseLine
from tests.factories import PASSWORD, ProductFactory
from tests.pages import scenario

pytestmark = pytest.mark.django_db(transaction=True)

HEADER = "erp_line_id,customer,product,month,quantity,unit_price,amount\n"


def test_finance_uploads_a_purchase_file_sees_the_preview_counts_and_stores_it(
        live_server, browser_page, sign_in, shot, celery_worker_thread, tmp_path):
    scenario.build(accrue=False)
    ProductFactory(sku="OTH-900", name="A product no agreement covers")
    october = PurchaseLine.objects.get(customer__code="SEED-001", month="2026-10-01")
    september = PurchaseLine.objects.get(customer__code="SEED-001", month="2026-09-01")
    purchases = tmp_path / "november.csv"
    purchases.write_text(
        HEADER
        + "NOV-1,SEED-001,FAS-101,2026-11,12,12.10,145.20\n"
        + "NOV-2,C-1002,FAS-101,2026-11,20,12.10,242.00\n"
        + f"{october.erp_line_id},SEED-001,FAS-101,2026-10,11,12.10,133.10\n"  # one more unit than stored
        + f"{september.erp_line_id},SEED-001,FAS-101,2026-09,10,12.10,121.00\n"  # as stored
        + "NOV-3,SEED-001,OTH-900,2026-11,5,3.00,15.00\n")
    page = browser_page
    sign_in(page, "finance", PASSWORD)

    page.click("nav >> text=Imports")
    page.wait_for_selector("#import-form")
    page.set_input_files("#id_file", str(purchases))
    page.click("button:has-text('Upload and check')")
    page.wait_for_selector(".progress")
    # The worker checks the file; the page polls its progress and shows the counts when it is done.
    page.wait_for_selector("#batch-status:has-text('Previewed')", timeout=60_000)
    counts = {name: page.locator(f"#count-{name}").inner_text()
              for name in ("lines", "new", "changed", "unchanged", "unmatched")}
    assert counts == {"lines": "5", "new": "3", "changed": "1", "unchanged": "1", "unmatched": "1"}
    assert not PurchaseLine.objects.filter(erp_line_id__startswith="NOV-").exists()  # nothing stored yet
    assert page.locator(".progress .percent").inner_text() == "100"
    shot(page, "import-previewed")

    page.click("#store-lines")
    page.wait_for_selector(".progress")
    page.wait_for_selector("#batch-status:has-text('Stored')", timeout=60_000)
    assert page.locator("#store-lines").count() == 0
    assert page.locator(".progress .percent").inner_text() == "100"
    shot(page, "import-stored")

    batch = ImportBatch.objects.get()
    assert (batch.status, batch.progress, batch.line_count) == (ImportBatch.Status.STORED, 100, 5)
    assert set(PurchaseLine.objects.filter(erp_line_id__startswith="NOV-").values_list("erp_line_id", flat=True)) \
        == {"NOV-1", "NOV-2", "NOV-3"}
    october.refresh_from_db()
    assert (october.quantity, october.amount) == (Decimal("11.000"), Decimal("133.10"))

    page.click("text=← Imports")
    row = page.locator("#batches tr", has_text="november.csv")
    assert "Stored" in row.inner_text()


def test_finance_asks_for_a_large_export_watches_it_made_and_downloads_it(
        live_server, browser_page, sign_in, shot, celery_worker_thread, settings):
    from openpyxl import load_workbook

    from rebates.models import ExportJob

    settings.EXCEL_EXPORT_INLINE_ROWS = 1  # any sheet counts as large: made in the background
    scenario.build()
    page = browser_page
    sign_in(page, "finance", PASSWORD)

    page.click("nav >> text=Exports")
    page.wait_for_selector("#export-form")
    page.fill("#id_customer", "SEED-001")
    page.click("#export-form button:has-text('Export')")
    page.wait_for_selector(".progress")
    # The worker makes the file; the page polls its progress and offers the download when it is done.
    page.wait_for_selector("#export-download", timeout=60_000)
    assert page.locator(".progress .percent").inner_text() == "100"
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.DONE and job.filters["customer"] == "SEED-001"
    shot(page, "export-done")

    with page.expect_download() as download:
        page.click("#export-download")
    assert download.value.suggested_filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(download.value.path().read_bytes()), read_only=True)
    text = " ".join(str(cell) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)
                    for cell in row if cell is not None)
    assert "AG-SEED-2026" in text and "AG-C-2001-2026" not in text


BAD_ROWS = [
    ["BAD-1", "SEED-001", "FAS-101", "2026-11", "two", "12.10", "24.20"],  # quantity is no number
    ["BAD-2", "NOBODY", "FAS-101", "2026-11", "3", "12.10", "36.30"],  # no such customer
]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_finance_uploads_a_bad_file_and_sees_every_problem_listed(
        live_server, browser_page, sign_in, shot, celery_worker_thread, tmp_path, kind):
    from tests.excel.workbooks import purchase_csv, purchase_xlsx

    scenario.build(accrue=False)
    bad = tmp_path / f"bad-march.{kind}"
    bad.write_bytes(purchase_xlsx(BAD_ROWS) if kind == "xlsx" else purchase_csv(BAD_ROWS))
    page = browser_page
    sign_in(page, "finance", PASSWORD)

    page.click("nav >> text=Imports")
    page.wait_for_selector("#import-template a")  # the template is a link on the page
    page.set_input_files("#id_file", str(bad))
    page.click("button:has-text('Upload and check')")
    page.wait_for_selector("#batch-status:has-text('Rejected')", timeout=60_000)
    page.reload()  # the page as finance opens it again later, problems and all
    page.wait_for_selector("#import-errors")
    rows = [[cell.strip() for cell in row.locator("td").all_inner_texts()]
            for row in page.locator("#import-errors tbody tr").all()]
    assert [row[:3] for row in rows] == [["2", "E", "quantity"], ["3", "B", "customer"]]
    assert "NOBODY" in rows[1][3]
    assert page.locator("#store-lines").count() == 0
    assert not PurchaseLine.objects.filter(erp_line_id__startswith="BAD-").exists()
    shot(page, f"import-rejected-{kind}")
