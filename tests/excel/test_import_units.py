"""A purchase file may carry a Unit column: lines in a box or a case are stored in base units, a blank
unit is the base unit, an unknown unit is named by row and column and nothing is stored."""

from decimal import Decimal

import pytest

from rebates.models import ImportBatch, ProductUnit, PurchaseLine
from rebates.services.imports import (
    purchase_import_commit,
    purchase_import_file,
    purchase_import_preview,
    purchase_import_start,
)
from tests.excel.ledgers import finance_user
from tests.excel.workbooks import HEADER, purchase_csv, purchase_xlsx
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db

D = Decimal
WITH_UNIT = [*HEADER, "Unit"]


@pytest.fixture
def widget():
    product = ProductFactory(sku="W-1")
    ProductUnit.objects.create(product=product, code="box", base_quantity=D(50))
    ProductUnit.objects.create(product=product, code="case", base_quantity=D(600))
    AgreementFactory(customer=CustomerFactory(code="C1"), products=[product])
    return product


ROWS = [["L1", "C1", "W-1", "2026-03", 3, 12.1, 36.3, "box"],
        ["L2", "C1", "W-1", "2026-03", 1, 140, 140, "case"],
        ["L3", "C1", "W-1", "2026-03", 10, 0.25, 2.5, None]]


def test_an_xlsx_with_a_unit_column_stores_base_units_and_the_units_as_sent(widget):
    outcome = purchase_import_file(user=finance_user(), upload=purchase_xlsx(ROWS, header=WITH_UNIT),
                                   name="units.xlsx", commit=True)
    assert outcome.batch.status == ImportBatch.Status.STORED, outcome.batch.errors
    stored = {line.erp_line_id: line for line in PurchaseLine.objects.all()}
    assert (stored["L1"].quantity, stored["L1"].unit, stored["L1"].quantity_in_unit) == (D(150), "box", D(3))
    assert (stored["L2"].quantity, stored["L2"].unit_price, stored["L2"].unit_price_in_unit) == (
        D(600), D("0.2333"), D(140))
    assert (stored["L3"].quantity, stored["L3"].unit) == (D(10), "")


def test_a_preview_then_commit_keeps_the_units(widget):
    batch = purchase_import_start(user=finance_user(), upload=purchase_csv(
        [[value if value is not None else "" for value in row] for row in ROWS], header=WITH_UNIT), name="u.csv")
    assert purchase_import_preview(batch_id=batch.pk).batch.status == ImportBatch.Status.PREVIEWED
    committed = purchase_import_commit(batch_id=batch.pk, user=finance_user()).batch
    assert committed.status == "stored", committed.errors
    assert sorted(PurchaseLine.objects.values_list("quantity", flat=True)) == [D(10), D(150), D(600)]


def test_an_unknown_unit_is_named_by_row_and_column_and_nothing_is_stored(widget):
    rows = [*ROWS[:2], [*ROWS[2][:7], "pallet"]]
    outcome = purchase_import_file(user=finance_user(), upload=purchase_xlsx(rows, header=WITH_UNIT),
                                   name="units.xlsx", commit=True)
    assert outcome.batch.status == ImportBatch.Status.REJECTED
    [error] = outcome.batch.errors
    assert (error["row"], error["column"], error["field"]) == (4, "H", "unit")
    assert "pallet" in error["message"]
    assert PurchaseLine.objects.count() == 0


def test_a_file_without_the_unit_column_is_in_base_units(widget):
    outcome = purchase_import_file(user=finance_user(), upload=purchase_xlsx([ROWS[2][:7]]), name="plain.xlsx",
                                   commit=True)
    assert outcome.batch.status == ImportBatch.Status.STORED
    assert PurchaseLine.objects.get().unit == ""
