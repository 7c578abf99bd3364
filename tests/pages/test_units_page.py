"""The agreement page states the unit its rates and tiers count in, and shows lines sent in boxes beside
the base units; the statement API says the same."""

from decimal import Decimal

import pytest
from django.urls import reverse

from rebates.models import ProductUnit, PurchaseLine
from rebates.services import purchase_lines_ingest
from tests.pages.fixtures import html

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_boxes(scenario):
    product = scenario["agreements"]["seed"].products.get()
    ProductUnit.objects.create(product=product, code="box", base_quantity=Decimal(50))
    purchase_lines_ingest(lines=[{"erp_line_id": "BOX-1", "customer": "SEED-001", "product": product.sku,
                                  "month": "2026-10", "quantity": "2", "unit_price": "605.00",
                                  "amount": "1210.00", "unit": "box"}], source=PurchaseLine.Source.API)
    return scenario


def test_the_terms_say_the_unit_and_the_sheet_shows_boxes_beside_base_units(in_boxes, client_for):
    page = html(client_for(in_boxes["am"]).get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    assert "$0.25 a unit, paid annually." in page
    assert "Units are each: rates, tiers and minimums per each; a box is 50 each." in page
    assert "Units (each)" in page
    october = page[page.index("<td>2026-10</td>"):]
    october = october[:october.index("</tr>")]
    assert "FAS-101: 2 box = 100 each" in october


def test_the_agreement_sheet_shows_the_boxes_sent_beside_the_base_units(in_boxes, client_for):
    from tests.excel.readback import values, workbook

    response = client_for(in_boxes["am"]).get(reverse("agreement-sheet", args=["AG-SEED-2026"]))
    rows = values(workbook(response.content).active)
    start = next(i for i, row in enumerate(rows) if row[0] == "Lines sent in other units (units above are each)")
    assert [row[1:4] for row in rows[start + 1:]] == [["FAS-101", "2 box", "100 each"]]


def test_the_statement_api_names_the_base_unit_and_the_units_sent(in_boxes):
    from tests.api.conftest import client_for

    body = client_for(in_boxes["am"]).get("/api/v1/agreements/AG-SEED-2026/statement/").json()
    assert body["base_unit"] == "each"
    october = next(month for month in body["months"] if month["month"] == "2026-10")
    assert october["units_sent"] == [{"product": "FAS-101", "unit": "box", "quantity_in_unit": "2.000",
                                      "units": "100.000"}]


def test_an_agreement_on_products_sold_only_in_each_says_nothing_of_units(scenario, client_for):
    page = html(client_for(scenario["am"]).get(reverse("agreement-detail", args=["AG-SEED-2026"])))
    assert "Units are" not in page


# --- the purchase file through the imports page ----------------------------------------------------------

UNIT_FILE = (b"erp_line_id,customer,product,month,quantity,unit_price,amount,Unit\n"
             b"U-1,SEED-001,FAS-101,2026-11,2,605.00,1210.00,box\n"
             b"U-2,SEED-001,FAS-101,2026-11,3,12.10,36.30,\n")


def upload_and_check(client, content, capture):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from rebates.models import ImportBatch
    from rebates.services.imports import purchase_import_preview

    with capture(execute=False):
        client.post(reverse("imports"), {"file": SimpleUploadedFile("units.csv", content)})
    batch = ImportBatch.objects.get()
    purchase_import_preview(batch_id=batch.pk)  # what the queued task does
    return batch


def test_a_purchase_file_in_boxes_sent_through_the_imports_page_is_stored_in_base_units(
        scenario, client_for, django_capture_on_commit_callbacks):
    from rebates.services.imports import purchase_import_commit

    ProductUnit.objects.create(product=scenario["agreements"]["seed"].products.get(), code="box",
                               base_quantity=Decimal(50))
    client = client_for(scenario["finance"])
    batch = upload_and_check(client, UNIT_FILE, django_capture_on_commit_callbacks)
    page = html(client.get(reverse("import-detail", args=[batch.pk])))
    assert 'id="count-lines">2<' in page and 'id="store-lines"' in page
    with django_capture_on_commit_callbacks(execute=False):
        assert client.post(reverse("import-detail", args=[batch.pk])).status_code == 302
    purchase_import_commit(batch_id=batch.pk)  # what the queued task does
    stored = {line.erp_line_id: line for line in PurchaseLine.objects.filter(erp_line_id__startswith="U-")}
    assert (stored["U-1"].quantity, stored["U-1"].unit, stored["U-1"].quantity_in_unit) == (
        Decimal(100), "box", Decimal(2))
    assert (stored["U-1"].unit_price, stored["U-1"].amount) == (Decimal("12.1000"), Decimal("1210.00"))
    assert (stored["U-2"].quantity, stored["U-2"].unit) == (Decimal(3), "")


def test_an_unknown_unit_in_a_file_sent_through_the_imports_page_names_row_and_column_and_stores_nothing(
        scenario, client_for, django_capture_on_commit_callbacks):
    client = client_for(scenario["finance"])
    content = UNIT_FILE.replace(b",box\n", b",pallet\n")
    batch = upload_and_check(client, content, django_capture_on_commit_callbacks)
    page = html(client.get(reverse("import-detail", args=[batch.pk])))
    problems = page[page.index('id="import-errors"'):]
    problems = problems[:problems.index("</table>")]
    assert "<td>2</td><td>H</td><td>unit</td>" in problems and "pallet" in problems
    assert 'id="store-lines"' not in page
    assert not PurchaseLine.objects.filter(erp_line_id__startswith="U-").exists()


def test_the_settlement_statement_shows_the_boxes_sent_beside_the_base_units(in_boxes, client_for):
    import datetime

    from rebates.models import Settlement
    from tests.excel.readback import values, workbook
    from tests.factories import LedgerEntryFactory

    agreement = in_boxes["agreements"]["seed"]
    october = datetime.date(2026, 10, 1)
    LedgerEntryFactory(agreement=agreement, period=october, amount=Decimal("25.00"), quantity=Decimal("100"),
                       eligible_amount=Decimal("1210.00"))
    settlement = Settlement.objects.create(agreement=agreement, period_start=october, period_end=october,
                                           interim=True, accrued_total=Decimal("25.00"), amount=Decimal("25.00"))
    finance = in_boxes["finance"]
    rows = values(workbook(client_for(finance).get(reverse("settlement-statement", args=[settlement.pk])).content)
                  .active)
    start = next(i for i, row in enumerate(rows) if row[0] == "Lines sent in other units (units above are each)")
    assert rows[start + 1][1:4] == ["FAS-101", "2 box", "100 each"]
    pdf = client_for(finance).get(reverse("settlement-statement-pdf", args=[settlement.pk]))
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
