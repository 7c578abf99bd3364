"""The exchange-rates page: finance uploads the month's rates as .csv or .xlsx (all or none, each problem named
by row and column); every reader sees the lines of their own customers held for a missing rate, with why."""

import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from rebates.models import ExchangeRate, HeldPurchaseLine, PurchaseLine
from rebates.services.purchases import purchase_lines_ingest
from tests.pages.fixtures import html

pytestmark = pytest.mark.django_db


def held_line(erp_line_id, customer, month="2026-11", amount="100.00"):
    purchase_lines_ingest(lines=[{"erp_line_id": erp_line_id, "customer": customer, "product": "FAS-101",
                                  "month": month, "quantity": "10", "unit_price": "10.00", "amount": amount,
                                  "currency": "EUR"}], source="api")


def upload(client, name, content):
    return client.post(reverse("exchange-rates"), {"file": SimpleUploadedFile(name, content)})


def rates_xlsx(rows) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Currency", "To currency", "Month", "Rate"])
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_a_held_line_is_listed_with_the_reason(scenario, client_for):
    held_line("EU-1", "SEED-001")
    page = html(client_for(scenario["am"]).get(reverse("exchange-rates")))
    assert "EU-1" in page and "No EUR rate to USD for 2026-11." in page
    assert "100.00 EUR" in page


def test_a_manager_sees_only_their_customers_held_lines_and_cannot_upload(scenario, client_for):
    held_line("EU-MINE", "SEED-001")
    held_line("EU-THEIRS", "C-2001")
    client = client_for(scenario["am"])
    page = html(client.get(reverse("exchange-rates")))
    assert "EU-MINE" in page and "EU-THEIRS" not in page
    assert 'id="rates-form"' not in page
    assert upload(client, "rates.csv", b"currency,month,rate\nEUR,2026-11,1.1\n").status_code == 403
    assert not ExchangeRate.objects.exists()


def test_finance_uploads_a_csv_of_rates_and_the_held_line_is_stored(scenario, client_for):
    held_line("EU-1", "SEED-001")
    response = upload(client_for(scenario["finance"]), "rates.csv",
                      b"currency,to_currency,month,rate\nEUR,USD,2026-11,1.1\nGBP,USD,2026-11,1.27\n")
    assert response.status_code == 302, html(response)
    assert ExchangeRate.objects.count() == 2
    assert PurchaseLine.objects.get(erp_line_id="EU-1").amount == Decimal("110.00")
    assert not HeldPurchaseLine.objects.exists()


def test_finance_uploads_an_xlsx_of_rates(scenario, client_for):
    content = rates_xlsx([("EUR", "USD", "2026-10", 1.0825), ("EUR", None, "2026-11", "1.09")])
    response = upload(client_for(scenario["finance"]), "rates.xlsx", content)
    assert response.status_code == 302, html(response)
    assert dict(ExchangeRate.objects.values_list("month__month", "rate")) == {10: Decimal("1.0825"),
                                                                             11: Decimal("1.09")}


def test_a_bad_rate_file_names_row_and_column_and_stores_nothing(scenario, client_for):
    response = upload(client_for(scenario["finance"]), "rates.csv",
                      b"currency,month,rate\nEUR,2026-11,1.1\nXYZ,2026-11,abc\n")
    assert response.status_code == 400
    page = html(response)
    assert "Row 3, column A (currency)" in page and "Row 3, column C (rate)" in page
    assert not ExchangeRate.objects.exists()


def test_a_file_without_the_rate_columns_is_refused(scenario, client_for):
    response = upload(client_for(scenario["finance"]), "rates.csv", b"currency,month\nEUR,2026-11\n")
    assert response.status_code == 400
    assert "missing: rate" in html(response)


def test_a_purchase_file_with_a_currency_column_converts_its_lines(scenario, client_for):
    from rebates.services.currencies import exchange_rates_set
    from rebates.services.imports import purchase_import_file

    exchange_rates_set(rates=[{"currency": "EUR", "month": "2026-11", "rate": "1.1"}])
    content = (b"erp_line_id,customer,product,month,quantity,unit_price,amount,Currency\n"
               b"F-1,SEED-001,FAS-101,2026-11,2,10.00,20.00,EUR\n"
               b"F-2,SEED-001,FAS-101,2026-11,3,12.10,36.30,\n"
               b"F-3,SEED-001,FAS-101,2026-10,1,10.00,10.00,EUR\n")
    outcome = purchase_import_file(user=scenario["finance"], upload=io.BytesIO(content), name="lines.csv",
                                   commit=True)
    assert outcome.ok, outcome
    lines = {line.erp_line_id: line for line in PurchaseLine.objects.all()}
    assert (lines["F-1"].amount, lines["F-1"].amount_in_currency, lines["F-1"].currency) == (
        Decimal("22.00"), Decimal("20.00"), "EUR")
    assert (lines["F-2"].amount, lines["F-2"].currency) == (Decimal("36.30"), "")
    assert HeldPurchaseLine.objects.get().erp_line_id == "F-3"


def test_a_purchase_file_with_an_unknown_currency_names_row_and_column(scenario, client_for):
    from rebates.services.imports import purchase_import_file

    content = (b"erp_line_id,customer,product,month,quantity,unit_price,amount,currency\n"
               b"F-1,SEED-001,FAS-101,2026-11,2,10.00,20.00,EURO\n")
    outcome = purchase_import_file(user=scenario["finance"], upload=io.BytesIO(content), name="lines.csv",
                                   commit=True)
    assert not outcome.ok
    assert any("Row 2, column H (currency)" in error["message"] for error in outcome.batch.errors)
    assert not PurchaseLine.objects.filter(erp_line_id="F-1").exists()


def test_an_import_with_lines_held_for_a_rate_counts_them_on_its_page(scenario, client_for):
    from rebates.models import ImportBatch
    from rebates.services.imports import purchase_import_commit, purchase_import_preview

    client = client_for(scenario["finance"])
    content = (b"erp_line_id,customer,product,month,quantity,unit_price,amount,currency\n"
               b"F-1,SEED-001,FAS-101,2026-11,2,10.00,20.00,EUR\n"
               b"F-2,SEED-001,FAS-101,2026-11,3,12.10,36.30,\n")
    client.post(reverse("imports"), {"file": SimpleUploadedFile("lines.csv", content)})
    batch = ImportBatch.objects.get()
    purchase_import_preview(batch_id=batch.pk)
    page = html(client.get(reverse("import-detail", args=[batch.pk])))
    assert 'id="count-lines">2<' in page and 'id="count-held">1 ' in page
    purchase_import_commit(batch_id=batch.pk, user=scenario["finance"])
    page = html(client.get(reverse("import-detail", args=[batch.pk])))
    assert 'id="count-new">1<' in page and 'id="count-held">1 ' in page
    assert HeldPurchaseLine.objects.get().import_batch == batch
