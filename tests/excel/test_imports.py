"""Purchase lines from .xlsx and .csv: the template, the same validation as the API (every bad row and
column named, nothing stored), a preview of counts, upsert by erp_line_id, progress, the import batch."""

import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from customers.models import AuditRecord
from rebates.imports import ImportRefused, purchase_file_read, purchase_import_template
from rebates.models import ImportBatch, PurchaseLine
from rebates.services.imports import (
    purchase_import_commit,
    purchase_import_commit_start,
    purchase_import_file,
    purchase_import_preview,
    purchase_import_start,
)
from tests.excel.ledgers import finance_user
from tests.excel.workbooks import HEADER, purchase_csv, purchase_xlsx
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def scenario():
    product = ProductFactory(sku="W-1")
    ProductFactory(sku="W-2")
    agreement = AgreementFactory(customer=CustomerFactory(code="C1"), products=[product])
    CustomerFactory(code="C2")
    return agreement


def rows(count=3, change=None):
    """`count` good lines; `change` maps (line index, column) to another value."""
    made = [[f"L{i}", "C1", "W-1", "2026-03", 10, 12.1, 121] for i in range(1, count + 1)]
    for (index, column), value in (change or {}).items():
        made[index][HEADER.index(column)] = value
    return made


def run(content, name="purchases.xlsx", commit=True, user=None):
    return purchase_import_file(user=user or finance_user(), upload=content, name=name, commit=commit)


def test_template_names_the_columns_and_shows_an_example():
    workbook = load_workbook(io.BytesIO(purchase_import_template("xlsx").content))
    sheet = workbook["Purchase lines"]
    assert [cell.value for cell in sheet[1]] == [*HEADER, "unit", "currency"]
    assert [cell.value for cell in sheet[2]][:4] == ["INV-2026-000123-1", "C00042", "FAS-101", "2026-03"]
    assert "How to fill it in" in workbook.sheetnames
    assert purchase_import_template("csv").content.decode("utf-8-sig").splitlines()[0] == ",".join([*HEADER, "unit",
                                                                                                     "currency"])


def test_the_filled_in_template_imports(scenario):
    template = load_workbook(io.BytesIO(purchase_import_template("xlsx").content))
    sheet = template["Purchase lines"]
    sheet["A2"], sheet["B2"], sheet["C2"] = "T-1", "C1", "W-1"
    buffer = io.BytesIO()
    template.save(buffer)
    outcome = run(buffer.getvalue())
    assert outcome.batch.status == "stored", outcome.batch.errors
    line = PurchaseLine.objects.get(erp_line_id="T-1")
    assert (line.month, line.quantity, line.unit_price, line.amount) == (
        datetime.date(2026, 3, 1), D("10.000"), D("12.1000"), D("121.00"))


def test_xlsx_lines_are_stored_exactly_with_source_and_batch(scenario):
    outcome = run(purchase_xlsx(rows(2) + [["L3", "C1", "W-1", datetime.datetime(2026, 4, 17), -2, 12.1, -24.2]]))
    batch = outcome.batch
    assert batch.status == ImportBatch.Status.STORED and batch.errors == []
    assert (batch.line_count, batch.created_count, batch.updated_count, batch.progress) == (3, 3, 0, 100)
    credit = PurchaseLine.objects.get(erp_line_id="L3")
    # A float cell (12.1, -24.2) arrives as the exact decimal the clerk typed; a date cell as its month.
    assert (credit.month, credit.quantity, credit.unit_price, credit.amount) == (
        datetime.date(2026, 4, 1), D("-2.000"), D("12.1000"), D("-24.20"))
    assert set(PurchaseLine.objects.values_list("source", "import_batch_id")) == {("file", batch.pk)}
    assert not batch.file


def test_preview_counts_and_stores_nothing(scenario):
    run(purchase_xlsx(rows(2)))
    content = purchase_xlsx(rows(4, {(0, "quantity"): 12}) + [["L9", "C2", "W-2", "2026-03", 1, 5, 5]])
    batch = purchase_import_start(user=finance_user(), upload=content, name="again.xlsx")
    outcome = purchase_import_preview(batch_id=batch.pk)
    batch = outcome.batch
    assert batch.status == ImportBatch.Status.PREVIEWED
    assert (batch.line_count, batch.created_count, batch.updated_count, batch.unchanged_count,
            batch.unmatched_count) == (5, 3, 1, 1, 1)
    assert PurchaseLine.objects.count() == 2
    assert PurchaseLine.objects.get(erp_line_id="L1").quantity == D("10")
    committed = purchase_import_commit(batch_id=batch.pk, user=finance_user()).batch
    assert (committed.status, committed.created_count, committed.updated_count) == ("stored", 3, 1)
    assert PurchaseLine.objects.count() == 5 and PurchaseLine.objects.get(erp_line_id="L1").quantity == D("12")


def test_upsert_by_erp_line_id_never_duplicates(scenario):
    run(purchase_xlsx(rows(3)))
    outcome = run(purchase_xlsx(rows(3, {(2, "amount"): 120})))
    assert (outcome.batch.created_count, outcome.batch.updated_count, outcome.batch.unchanged_count) == (0, 1, 2)
    assert PurchaseLine.objects.count() == 3


def test_one_bad_line_rejects_the_file_naming_every_row_and_column(scenario):
    content = purchase_xlsx(rows(4, {(1, "month"): "March", (2, "customer"): "C404", (2, "quantity"): "ten",
                                       (3, "unit_price"): -1}))
    outcome = run(content)
    batch = outcome.batch
    assert batch.status == ImportBatch.Status.REJECTED
    assert [(e["row"], e["column"], e["field"]) for e in batch.errors] == [
        (3, "D", "month"), (4, "B", "customer"), (4, "E", "quantity"), (5, "F", "unit_price")]
    assert batch.errors[0]["message"] == "Row 3, column D (month): A month as YYYY-MM."
    assert batch.errors[1]["message"] == "Row 4, column B (customer): No customer has the ERP code 'C404'."
    assert PurchaseLine.objects.count() == 0
    assert not batch.file
    assert AuditRecord.objects.filter(action="purchase_import.reject", target_id=str(batch.pk)).exists()


def test_row_numbers_follow_the_sheet_past_blank_rows(scenario):
    content = purchase_xlsx(rows(1) + [[None] * 7, ["L2", "C1", "W-1", "2026-13", 1, 1, 1]])
    batch = run(content).batch
    assert [(e["row"], e["column"]) for e in batch.errors] == [(4, "D")]


def test_a_missing_column_is_named(scenario):
    content = purchase_xlsx([["L1", "C1", "W-1", "2026-03", 10, 12.1]], header=HEADER[:6])
    batch = run(content).batch
    assert batch.status == "rejected"
    assert batch.errors[0]["field"] == "file"
    assert "missing: amount" in batch.errors[0]["message"]


def test_friendly_headers_in_any_order_and_extra_columns(scenario):
    header = ["Note", "Amount", "Unit price", "Quantity", "Month", "SKU", "Customer code", "ERP line id"]
    content = purchase_xlsx([["first", 121, 12.1, 10, "2026-03", "W-1", "C1", "L1"]], header=header)
    assert run(content).batch.status == "stored"
    assert PurchaseLine.objects.get(erp_line_id="L1").amount == D("121.00")


def test_numeric_codes_are_read_as_their_digits(scenario):
    CustomerFactory(code="10042")
    content = purchase_xlsx([[900001, 10042, "W-1", "2026-03", 1, 1, 1]])
    assert run(content).batch.status == "stored"
    assert PurchaseLine.objects.get(erp_line_id="900001").customer.code == "10042"


def test_csv_import_with_semicolons_and_a_byte_order_mark(scenario):
    content = b"\xef\xbb\xbf" + purchase_csv([("L1", "C1", "W-1", "2026-03", "10", "12.10", "121.00")],
                                             delimiter=";")
    batch = run(content, name="purchases.csv").batch
    assert batch.status == "stored" and batch.created_count == 1


def test_csv_errors_name_rows_and_columns(scenario):
    content = purchase_csv([("L1", "C1", "W-1", "2026-03", "10", "12.10", "121.00"),
                            ("L2", "C1", "W-9", "2026-03", "1x5", "12.10", "121.001")])
    batch = run(content, name="purchases.csv").batch
    assert [(e["row"], e["column"], e["field"]) for e in batch.errors] == [
        (3, "C", "product"), (3, "E", "quantity"), (3, "G", "amount")]
    assert PurchaseLine.objects.count() == 0


def test_csv_from_excel_in_the_windows_code_page(scenario):
    CustomerFactory(code="MÜLLER")
    content = purchase_csv([("L1", "MÜLLER", "W-1", "2026-03", "1", "1", "1")], encoding="cp1252")
    assert run(content, name="purchases.csv").batch.status == "stored"


def test_progress_rises_to_100_in_preview_and_in_commit(scenario):
    previewed, committed = [], []
    batch = purchase_import_start(user=finance_user(), upload=purchase_xlsx(rows(20)), name="p.xlsx")
    purchase_import_preview(batch_id=batch.pk, progress=lambda done, total: previewed.append(done))
    assert ImportBatch.objects.get(pk=batch.pk).progress == 100
    purchase_import_commit(batch_id=batch.pk, progress=lambda done, total: committed.append(done))
    for seen in (previewed, committed):
        assert seen == sorted(seen) and seen[-1] == 100 and len(seen) >= 2
    assert ImportBatch.objects.get(pk=batch.pk).progress == 100


def test_commit_twice_stores_once(scenario):
    batch = purchase_import_start(user=finance_user(), upload=purchase_xlsx(rows(2)), name="p.xlsx")
    first = purchase_import_commit(batch_id=batch.pk)
    again = purchase_import_commit(batch_id=batch.pk)
    assert first.batch.status == again.batch.status == "stored"
    assert again.result is None and again.batch.created_count == 2


def test_a_hostile_file_rejects_its_batch_with_the_reason(scenario):
    batch = run(b"not a workbook", name="p.xlsx").batch
    assert batch.status == "rejected" and "signature is wrong" in batch.errors[0]["message"]


def test_upload_of_an_unknown_kind_is_refused():
    with pytest.raises(ImportRefused, match="Upload an Excel workbook"):
        purchase_file_read(io.BytesIO(b"x"), name="purchases.pdf")


def test_row_limit_counts_purchase_lines_not_the_header(scenario, settings):
    settings.PURCHASE_IMPORT_MAX_ROWS = 3
    assert len(purchase_file_read(io.BytesIO(purchase_xlsx(rows(3))), name="p.xlsx").lines) == 3
    with pytest.raises(ImportRefused, match="more than 3 rows"):
        purchase_file_read(io.BytesIO(purchase_xlsx(rows(4))), name="p.xlsx")
    with pytest.raises(ImportRefused, match="more than 3 rows"):
        purchase_file_read(io.BytesIO(purchase_csv(rows(4))), name="p.csv")


def test_preview_and_commit_are_queued_after_commit(scenario, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        batch = purchase_import_start(user=finance_user(), upload=purchase_xlsx(rows(1)), name="p.xlsx",
                                      queue_preview=True)
        purchase_import_commit_start(batch_id=batch.pk, user=finance_user())
    assert len(callbacks) == 2


def test_tasks_preview_and_commit_by_id(scenario):
    from rebates.tasks import purchase_import_commit_task, purchase_import_preview_task

    user = finance_user()
    batch = purchase_import_start(user=user, upload=purchase_xlsx(rows(2)), name="p.xlsx")
    assert purchase_import_preview_task(batch.pk) == "previewed"
    assert purchase_import_commit_task(batch.pk, user.pk) == "stored"
    assert purchase_import_commit_task(batch.pk, user.pk) == "stored"
    assert PurchaseLine.objects.count() == 2


def test_quoted_line_breaks_are_not_counted_as_rows(scenario, settings):
    settings.PURCHASE_IMPORT_MAX_ROWS = 2
    content = (b'erp_line_id,customer,product,month,quantity,unit_price,amount\r\n'
               b'"L1\r\nfirst",C1,W-1,2026-03,1,1,1\r\n"L2\r\n\r\nsecond",C1,W-1,2026-03,1,1,1\r\n')
    parsed = purchase_file_read(io.BytesIO(content), name="p.csv")
    assert [line["erp_line_id"] for line in parsed.lines] == ["L1\r\nfirst", "L2\r\n\r\nsecond"]
    with pytest.raises(ImportRefused, match="more than 2 rows"):
        purchase_file_read(io.BytesIO(content + b"L3,C1,W-1,2026-03,1,1,1\r\n"), name="p.csv")


def test_commit_stores_the_lines_the_preview_checked_without_reading_the_file_again(scenario, monkeypatch):
    import rebates.services.imports as service

    reads = []
    read = service.purchase_file_read
    monkeypatch.setattr(service, "purchase_file_read", lambda *args, **kwargs: reads.append(1) or read(*args,
                                                                                                         **kwargs))
    content = purchase_xlsx(rows(2) + [["L3", "C1", "W-1", datetime.datetime(2026, 4, 17), -2, 12.1, -24.2]])
    batch = purchase_import_start(user=finance_user(), upload=content, name="p.xlsx")
    previewed = purchase_import_preview(batch_id=batch.pk).batch
    assert previewed.checked_lines and len(reads) == 1
    committed = purchase_import_commit(batch_id=batch.pk, user=finance_user()).batch
    assert (committed.status, committed.created_count, len(reads)) == ("stored", 3, 1)
    credit = PurchaseLine.objects.get(erp_line_id="L3")
    assert (credit.month, credit.quantity, credit.unit_price, credit.amount) == (
        datetime.date(2026, 4, 1), D("-2.000"), D("12.1000"), D("-24.20"))
    assert not committed.file and not committed.checked_lines


def test_a_customer_gone_between_preview_and_commit_is_named_at_the_commit(scenario):
    gone = CustomerFactory(code="C9")
    content = purchase_xlsx(rows(1) + [["L2", "C9", "W-1", "2026-03", 1, 1, 1]])
    batch = purchase_import_start(user=finance_user(), upload=content, name="p.xlsx")
    assert purchase_import_preview(batch_id=batch.pk).batch.status == "previewed"
    gone.delete()
    committed = purchase_import_commit(batch_id=batch.pk, user=finance_user()).batch
    assert committed.status == "rejected"
    assert [e["message"] for e in committed.errors] == [
        "Row 3, column B (customer): No customer has the ERP code 'C9'."]
    assert PurchaseLine.objects.count() == 0 and not committed.checked_lines


def test_checked_lines_kept_beside_the_batch_read_back_exactly():
    from rebates.imports.checked import checked_lines_bytes, checked_lines_read
    from rebates.imports.common import PurchaseFile
    from rebates.services.purchases import CheckedLines

    checked = CheckedLines([
        (0, 'L1\r\n"first", second', "C1", "W-1", datetime.date(2026, 3, 1), D("-2.000"), D("12.1000"),
         D("-24.20"), "", ""),
        (1, "MÜLLER;2", "C 2", "SKU,9", datetime.date(2099, 12, 1), D("1E+3"), D("0.0001"), D("99999999999999.99"),
         "box", "EUR"),
    ])
    placed = PurchaseFile(lines=[], rows=[2, 7], columns={"quantity": ("E", "Qty")}, kind="xlsx")
    lines, where = checked_lines_read(io.BytesIO(checked_lines_bytes(checked, placed)))
    assert lines.lines == checked.lines
    assert [str(line[5]) for line in lines.lines] == ["-2.000", "1E+3"]
    assert (list(where.rows), where.columns, where.kind) == ([2, 7], {"quantity": ("E", "Qty")}, "xlsx")
    assert checked_lines_read(io.BytesIO(b"not kept lines")) is None


def test_an_error_cell_is_named_as_excel_shows_it(scenario):
    # openpyxl writes "#N/A" as an error cell, as Excel keeps a failed lookup.
    batch = run(purchase_xlsx(rows(2, {(1, "customer"): "#N/A"}))).batch
    assert [e["message"] for e in batch.errors] == ["Row 3, column B (customer): No customer has the ERP code '#N/A'."]


def test_a_date_in_a_figure_column_reads_as_the_number_excel_keeps():
    content = purchase_xlsx(rows(1, {(0, "quantity"): datetime.datetime(2026, 3, 1, 12)}))
    assert purchase_file_read(io.BytesIO(content), name="p.xlsx").lines[0]["quantity"] == D("46082.5")


def test_a_batch_previewed_again_keeps_only_its_latest_check(scenario):
    batch = purchase_import_start(user=finance_user(), upload=purchase_xlsx(rows(2)), name="p.xlsx")
    first = purchase_import_preview(batch_id=batch.pk).batch.checked_lines
    second = purchase_import_preview(batch_id=batch.pk).batch.checked_lines
    assert first.name != second.name
    assert not first.storage.exists(first.name) and second.storage.exists(second.name)
    assert purchase_import_commit(batch_id=batch.pk).batch.created_count == 2
    assert not second.storage.exists(second.name)
