"""The finance accrual sheet and liability report, read back with openpyxl and csv: the ledger to the cent."""

import datetime
import io

import pytest
from django.db import connections
from django.db.models import Sum

from customers import roles
from rebates.exports import ExportError, ExportFile
from rebates.exports.cells import MONEY_FORMAT
from rebates.exports.filters import ExportFilterError
from rebates.models import ExportJob, LedgerEntry
from rebates.services.exports import accruals_export, export_job_run, export_job_start
from tests.excel.ledgers import (
    D,
    accrue,
    finance_user,
    month,
    seed_agreement,
    tiered_agreement,
    two_managers_agreements,
)
from tests.excel.readback import csv_rows, money, subtotals, values, workbook
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = ["Agreement", "Customer code", "Customer", "Account manager", "Program", "Month", "Units",
          "Eligible amount", "Accrued", "Paid", "Forfeited", "Unpaid", "Currency", "Accrued in USD",
          "Unpaid in USD"]


def xlsx(user, **filters):
    export = accruals_export(user=user, filters=filters, format="xlsx")
    assert isinstance(export, ExportFile)
    return export.content


def test_seed_example_sheet_reads_2_50_a_month_and_30_for_the_year():
    agreement = seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    sheets = workbook(xlsx(finance_user()))
    sheet = sheets["Accruals"]
    rows = values(sheet)
    assert rows[0] == HEADER
    body, total = rows[1:13], rows[13]
    assert [(r[0], r[1], r[5].date(), r[6], money(r[7]), money(r[8])) for r in body] == [
        ("AG-SEED", agreement.customer.code, month(m), 10, D("121.00"), D("2.50")) for m in range(1, 13)]
    assert total[0] == "Total (12 rows)"
    assert (total[6], money(total[7]), money(total[8]), money(total[11])) == (120, D("1452.00"), D("30.00"),
                                                                              D("30.00"))
    assert len(rows) == 14


def test_sheet_cells_are_typed_with_frozen_headers_and_sized_columns():
    seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    sheet = workbook(xlsx(finance_user()))["Accruals"]
    assert sheet.freeze_panes == "A2"
    first = sheet[2]
    assert first[5].is_date and first[5].number_format == "mmm yyyy"
    assert all(isinstance(cell.value, (int, float)) and cell.number_format == MONEY_FORMAT for cell in first[7:12])
    assert sheet.column_dimensions["C"].width >= len(first[2].value)
    assert sheet.column_dimensions["A"].width > 0


def test_tiered_sheet_matches_the_ledger_to_the_cent():
    agreement = tiered_agreement()
    accrue(datetime.date(2026, 3, 31))
    rows = values(workbook(xlsx(finance_user()))["Accruals"])[1:]
    assert [(r[5].date(), money(r[8])) for r in rows[:3]] == [
        (month(1), D("40.00")), (month(2), D("40.00")), (month(3), D("160.00"))]
    for row in rows[:3]:
        ledger = LedgerEntry.objects.filter(agreement=agreement, period=row[5].date()).aggregate(
            total=Sum("amount"), eligible=Sum("eligible_amount"))
        assert (money(row[8]), money(row[7])) == (ledger["total"], ledger["eligible"])
    assert money(rows[3][8]) == D("240.00")


def test_liability_sheet_by_customer_and_by_account_manager():
    manager_a, manager_b, seed, tiered = two_managers_agreements()
    sheets = workbook(xlsx(finance_user()))
    rows = values(sheets["Liability"])
    assert rows[0][0] == "Liability by customer"
    assert rows[1][:8] == ["Customer code", "Customer", "Account manager", "Agreements", "Accrued", "Paid",
                           "Forfeited", "Unpaid (liability)"]
    by_customer = {r[0]: (r[1], r[2], r[3], money(r[7])) for r in rows[2:4]}
    seed_manager = manager_a.get_full_name()
    tiered_ledger = LedgerEntry.objects.filter(agreement=tiered).aggregate(t=Sum("amount"))["t"]
    assert by_customer == {"C-A": ("Alpha Tools", seed_manager, 1, D("30.00")),
                           "C-B": ("Beta Parts", manager_b.get_full_name(), 1, tiered_ledger)}
    assert rows[4][0] == "Total" and money(rows[4][7]) == D("30.00") + tiered_ledger
    start = next(i for i, r in enumerate(rows) if r[0] == "Liability by account manager")
    managers = {r[0]: (r[1], r[2], money(r[6])) for r in rows[start + 2:start + 4]}
    assert managers == {seed_manager: (1, 1, D("30.00")), manager_b.get_full_name(): (1, 1, tiered_ledger)}


def test_filters_narrow_the_sheet_like_the_api():
    two_managers_agreements()
    finance = finance_user()
    only_b = values(workbook(xlsx(finance, customer="C-B"))["Accruals"])[1:-1]
    assert {r[1] for r in only_b} == {"C-B"}
    spring = values(workbook(xlsx(finance, month_from="2026-03", month_to="2026-05"))["Accruals"])[1:-1]
    assert {r[5].date() for r in spring} == {month(3), month(4), month(5)}
    assert {r[0] for r in spring} == {"AG-SEED", "AG-TIER"}


def test_account_managers_export_holds_no_foreign_rows():
    manager_a, manager_b, seed, tiered = two_managers_agreements()
    sheets = workbook(xlsx(manager_a))
    rows = values(sheets["Accruals"])[1:-1]
    assert len(rows) == 12 and {r[1] for r in rows} == {"C-A"}
    liability = [r for r in values(sheets["Liability"]) if r[0] in ("C-B", "Beta Parts", manager_b.get_full_name())]
    assert liability == []
    # Another manager's customer is no code the manager may export: named, never an empty sheet.
    with pytest.raises(ExportFilterError) as refused:
        xlsx(manager_a, customer="C-B")
    assert refused.value.field == "customer" and "C-B" in str(refused.value)


def test_account_managers_background_export_holds_no_foreign_rows():
    manager_a, manager_b, seed, tiered = two_managers_agreements()
    job = export_job_start(user=manager_b, format="csv", queue=False)
    job = export_job_run(job_id=job.pk)
    rows = csv_rows(job.file.read())
    assert {r[1] for r in rows[1:-1]} == {"C-B"}


def test_accrual_csv_has_the_same_figures():
    seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    export = accruals_export(user=finance_user(), format="csv")
    assert export.content_type.startswith("text/csv") and export.name.endswith(".csv")
    rows = csv_rows(export.content)
    assert rows[0] == HEADER
    assert [(r[5], r[6], r[7], r[8], r[11]) for r in rows[1:13]] == [
        (f"2026-{m:02d}", "10", "121.00", "2.50", "2.50") for m in range(1, 13)]
    assert rows[13][0] == "Total (12 rows)" and rows[13][8] == "30.00"


def test_liability_csv_lists_customers_then_managers():
    manager_a, manager_b, seed, tiered = two_managers_agreements()
    rows = csv_rows(accruals_export(user=finance_user(), format="csv", report="liability").content)
    assert rows[0][:4] == ["Report", "Account manager", "Customer code", "Customer"]
    customers = {r[2]: r[9] for r in rows if r[0] == "customer"}
    assert customers["C-A"] == "30.00" and set(customers) == {"C-A", "C-B"}
    assert {r[1] for r in rows if r[0] == "account manager"} == {manager_a.get_full_name(),
                                                                 manager_b.get_full_name()}


def test_large_export_becomes_a_background_job_with_progress_and_a_stored_file(settings):
    settings.EXCEL_EXPORT_INLINE_ROWS = 5
    seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    finance = finance_user()
    job = accruals_export(user=finance, filters={"month_from": "2026-01"}, format="xlsx")
    assert isinstance(job, ExportJob) and job.status == "queued"
    assert job.filters == {"month_from": "2026-01", "report": "accruals"}
    seen = []
    job = export_job_run(job_id=job.pk, progress=lambda done, total: seen.append((done, total)))
    job.refresh_from_db()
    assert (job.status, job.progress, job.rows_total, job.rows_done) == ("done", 100, 12, 12)
    assert seen[-1] == (12, 12)
    assert job.file.name.endswith(".xlsx")
    rows = values(workbook(job.file.read())["Accruals"])
    assert money(rows[-1][8]) == D("30.00")


def test_a_job_run_twice_makes_its_file_once():
    seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    job = export_job_start(user=finance_user(), format="xlsx", queue=False)
    first = export_job_run(job_id=job.pk)
    again = export_job_run(job_id=job.pk)
    assert first.file.name == again.file.name and again.status == "done"


def test_a_job_is_queued_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        export_job_start(user=finance_user(), format="xlsx")
    assert len(callbacks) == 1


@pytest.mark.parametrize("filters, message", [
    ({"month_from": "March"}, "month_from must be a month written YYYY-MM"),
    ({"month_from": "2026-05", "month_to": "2026-03"}, "month_from is after month_to"),
    ({"colour": "red"}, "Unknown filter colour"),
])
def test_bad_filters_are_refused_with_a_clear_message(filters, message):
    with pytest.raises(ExportError, match=message):
        accruals_export(user=finance_user(), filters=filters)


def test_unknown_format_is_refused():
    with pytest.raises(ExportError, match="format must be one of"):
        accruals_export(user=finance_user(), format="pdf")


def test_customer_without_rows_exports_an_empty_sheet_with_totals():
    CustomerFactory(account_manager=UserFactory(role=roles.ACCOUNT_MANAGER))
    rows = values(workbook(xlsx(finance_user()))["Accruals"])
    assert rows[0] == HEADER and rows[1][0] == "Total (0 rows)"


def test_stream_target_can_be_any_binary_file():
    seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    from rebates.exports.accrual_export import write_export

    buffer = io.BytesIO()
    assert write_export(buffer, user=finance_user(), filters={}, format="csv", report="accruals") == 12


@pytest.mark.django_db(transaction=True)
def test_background_export_reads_one_snapshot_and_reports_progress_as_it_goes():
    from customers.roles import roles_sync

    roles_sync()  # a transactional test starts from empty tables
    seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    finance = finance_user()
    job = export_job_start(user=finance, format="xlsx", queue=False)
    polled = []
    poller = connections.create_connection("default")

    def poll(done, total):
        # What a page polling the job (another connection) sees while the rows are being written.
        with poller.cursor() as cursor:
            cursor.execute("SELECT status, rows_done, rows_total, progress FROM rebates_exportjob WHERE id = %s",
                           [job.pk])
            polled.append(cursor.fetchone())

    try:
        job = export_job_run(job_id=job.pk, progress=poll)
    finally:
        poller.close()
    assert polled[0] == ("running", 12, 12, 95)
    assert (job.status, job.progress, job.rows_done) == ("done", 100, 12)
    assert money(values(workbook(job.file.read())["Accruals"])[-1][8]) == D("30.00")


# --- filters, autofilter, totals that follow the filter, units, file names ----------------------------------


@pytest.mark.parametrize(("field", "code"), [("customer", "C-TYPO"), ("agreement", "AG-TYPO"),
                                             ("program", "no-such-program"), ("manager", "nobody")])
def test_a_code_that_names_nothing_is_refused_naming_the_filter_and_nothing_is_made(field, code):
    seed_agreement()
    with pytest.raises(ExportFilterError) as refused:
        accruals_export(user=finance_user(), filters={field: code}, format="xlsx")
    assert refused.value.field == field and code in str(refused.value)
    assert not ExportJob.objects.exists()


def test_the_sheet_filters_its_header_and_totals_the_filtered_rows():
    two_managers_agreements()
    content = xlsx(finance_user())
    sheet = workbook(content)["Accruals"]
    rows = values(sheet)
    last = len(rows) - 1  # the totals row, below the filtered range
    assert sheet.auto_filter.ref == f"A1:O{last}"
    found = subtotals(content)
    assert found["Accruals!I" + str(last + 1)] == f"=SUBTOTAL(109,I2:I{last})"
    assert {cell for cell in found if cell.startswith("Accruals!")} == {
        f"Accruals!{column}{last + 1}" for column in "GHIJKLNO"}
    # The value stored with each formula is the figure itself, the sum of the rows.
    assert money(rows[-1][8]) == sum(money(row[8]) for row in rows[1:-1])
    liability = workbook(content)["Liability"]
    assert liability.auto_filter.ref.startswith("A2:J")


def test_units_carry_thousands_separators_and_csv_units_no_padding_zeros():
    seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    sheet = workbook(xlsx(finance_user()))["Accruals"]
    assert sheet.cell(row=2, column=7).number_format == "#,##0"
    assert sheet.cell(row=2, column=7).value == 10
    csv = csv_rows(accruals_export(user=finance_user(), filters={}, format="csv").content)
    assert [row[6] for row in csv[1:-1]] == ["10"] * (len(csv) - 2)
    assert csv[-1][6] == "120"


def test_fractional_units_show_their_places():
    from rebates.exports.cells import XlsxWorkbook

    book = XlsxWorkbook(io.BytesIO())
    assert book.quantity_format(D("10.500")).num_format == "#,##0.###"
    assert book.quantity_format(D("10.000")).num_format == "#,##0"
    book.close()


@pytest.mark.today("2026-12-03")
def test_the_file_is_named_as_a_clerk_would_keep_it():
    seed_agreement()
    accrue(datetime.date(2026, 11, 30))
    export = accruals_export(user=finance_user(), filters={}, format="xlsx")
    assert export.name == "accruals-2026-12-03.xlsx"
