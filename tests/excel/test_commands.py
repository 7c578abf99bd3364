"""manage.py export_accruals and import_purchases, as an operator runs them."""

import datetime
import io

import pytest
from django.core.management import CommandError, call_command

from rebates.models import ExportJob, ImportBatch, PurchaseLine
from tests.excel.ledgers import D, accrue, finance_user, seed_agreement, two_managers_agreements
from tests.excel.readback import csv_rows, money, values, workbook
from tests.excel.workbooks import purchase_csv, purchase_xlsx
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def command(name, *args):
    out, err = io.StringIO(), io.StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_export_accruals_writes_the_sheet(tmp_path):
    seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    finance_user()
    path = tmp_path / "accruals.xlsx"
    out, _ = command("export_accruals", "--user", "finance", "--output", str(path))
    assert "12 agreement months" in out
    rows = values(workbook(path.read_bytes())["Accruals"])
    assert money(rows[-1][8]) == D("30.00")


def test_export_accruals_as_csv_with_filters_and_the_liability_report(tmp_path):
    two_managers_agreements()
    finance_user()
    path = tmp_path / "c-b.csv"
    command("export_accruals", "--user", "finance", "--customer", "C-B", "--from", "2026-02", "-o", str(path))
    rows = csv_rows(path.read_bytes())
    assert {r[1] for r in rows[1:-1]} == {"C-B"} and rows[1][5] == "2026-02"
    liability = tmp_path / "liability.csv"
    command("export_accruals", "--user", "finance", "--report", "liability", "-o", str(liability))
    assert {r[2] for r in csv_rows(liability.read_bytes()) if r[0] == "customer"} == {"C-A", "C-B"}


def test_export_accruals_for_a_manager_holds_their_customers_only(tmp_path):
    two_managers_agreements()
    path = tmp_path / "a.csv"
    command("export_accruals", "--user", "manager_a", "-o", str(path))
    assert {r[1] for r in csv_rows(path.read_bytes())[1:-1]} == {"C-A"}


def test_export_accruals_can_queue_a_background_job():
    finance_user()
    out, _ = command("export_accruals", "--user", "finance", "--queue", "--format", "csv")
    job = ExportJob.objects.get()
    assert f"Export {job.pk} queued" in out and job.format == "csv"


@pytest.mark.parametrize("args, message", [
    (["--user", "nobody"], "No active user"),
    (["--user", "finance", "--from", "2026-13x"], "month_from must be a month"),
    (["--user", "finance", "--output", "x.pdf"], "format must be one of"),
])
def test_export_accruals_refuses_bad_input(args, message):
    finance_user()
    with pytest.raises(CommandError, match=message):
        command("export_accruals", *args)


@pytest.fixture
def catalogue():
    product = ProductFactory(sku="W-1")
    AgreementFactory(customer=CustomerFactory(code="C1"), products=[product])


def test_import_purchases_stores_a_file_and_reports_counts(tmp_path, catalogue):
    path = tmp_path / "march.xlsx"
    path.write_bytes(purchase_xlsx([["L1", "C1", "W-1", "2026-03", 10, 12.1, 121],
                                    ["L2", "C1", "W-1", "2026-03", 5, 12.1, 60.5]]))
    out, _ = command("import_purchases", str(path), "--user", finance_user().username)
    assert "2 lines; 2 created, 0 updated, 0 unchanged, 0 matching no agreement" in out
    assert PurchaseLine.objects.count() == 2
    assert ImportBatch.objects.get().created_by.username == "finance"


def test_import_purchases_dry_run_stores_nothing(tmp_path, catalogue):
    path = tmp_path / "march.csv"
    path.write_bytes(purchase_csv([["L1", "C1", "W-1", "2026-03", "10", "12.10", "121.00"]]))
    out, _ = command("import_purchases", str(path), "--dry-run")
    assert "1 lines; 1 would be created" in out and "nothing was stored" in out
    assert PurchaseLine.objects.count() == 0 and ImportBatch.objects.count() == 0


def test_import_purchases_names_every_bad_row_and_stores_nothing(tmp_path, catalogue):
    path = tmp_path / "march.csv"
    path.write_bytes(purchase_csv([["L1", "C1", "W-1", "2026-03", "10", "12.10", "121.00"],
                                   ["L2", "C9", "W-1", "March", "10", "12.10", "121.00"]]))
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("import_purchases", str(path), stdout=io.StringIO(), stderr=err)
    assert err.getvalue().splitlines() == [
        "Row 3, column B (customer): No customer has the ERP code 'C9'.",
        "Row 3, column D (month): A month as YYYY-MM.",
    ]
    assert PurchaseLine.objects.count() == 0


def test_import_purchases_refuses_a_hostile_file(tmp_path):
    path = tmp_path / "purchases.xlsm"
    path.write_bytes(b"PK\x03\x04")
    err = io.StringIO()
    with pytest.raises(CommandError, match="rejected"):
        call_command("import_purchases", str(path), stdout=io.StringIO(), stderr=err)
    assert err.getvalue().startswith("File: Macro-enabled")
