"""The accrual sheet's filters through the API: a code that names nothing the user may export answers 400
naming the filter, never an empty sheet, and starts no job; the file is named by the day."""

import io

import openpyxl
import pytest

from rebates.models import ExportJob
from tests.api.conftest import client_for
from tests.excel.readback import subtotals
from tests.factories import LedgerEntryFactory, PerUnitRuleFactory


@pytest.fixture
def booked(scenario):
    for agreement in (scenario["my_agreement"], scenario["their_agreement"]):
        PerUnitRuleFactory(agreement=agreement)
        LedgerEntryFactory(agreement=agreement)
    return scenario


@pytest.mark.parametrize(("field", "code"), [("customer", "C-TYPO"), ("agreement", "AG-TYPO"),
                                             ("program", "no-such-program"), ("manager", "nobody")])
def test_an_unknown_code_answers_400_naming_the_filter(users, booked, field, code):
    response = client_for(users["finance"]).get("/api/v1/exports/accruals.xlsx", {field: code})
    assert response.status_code == 400, response.content[:200]
    body = response.json()
    assert body["details"] == [{"field": field, "message": body["message"]}] and code in body["message"]
    assert not ExportJob.objects.exists()


@pytest.mark.today("2026-12-03")
def test_a_known_code_answers_the_sheet_named_by_the_day_with_filtered_totals(users, booked):
    response = client_for(users["finance"]).get("/api/v1/exports/accruals.xlsx", {"customer": "C-A"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="accruals-C-A-2026-12-03.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(response.content))["Accruals"]
    assert sheet.auto_filter.ref == "A1:O2"
    assert subtotals(response.content)["Accruals!I3"] == "=SUBTOTAL(109,I2:I2)"
