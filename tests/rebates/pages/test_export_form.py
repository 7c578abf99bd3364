"""The accrual export page: pickers of the codes the user may export, a typo refused beside its field with
nothing made, and a file named by the day."""

import pytest
from django.urls import reverse

from rebates.models import ExportJob
from tests.pages.fixtures import html

pytestmark = pytest.mark.django_db


def test_the_form_offers_the_customers_agreements_programs_and_managers(scenario, client_for):
    page = html(client_for(scenario["finance"]).get(reverse("exports")))
    assert 'list="id_customer-options"' in page and '<option value="SEED-001">' in page
    assert 'list="id_agreement-options"' in page and '<option value="AG-SEED-2026">' in page
    assert '<select name="manager"' in page and '<option value="am.north">Nora Lindqvist</option>' in page
    assert '<select name="program"' in page


@pytest.mark.parametrize(("field", "code"), [("customer", "SEED-01"), ("agreement", "AG-SEED-2027")])
def test_a_typo_is_refused_beside_its_field_and_nothing_is_made(scenario, client_for, field, code):
    response = client_for(scenario["finance"]).post(reverse("exports"), {"report": "accruals", "format": "xlsx",
                                                                         field: code})
    assert response.status_code == 400 and response["Content-Type"].startswith("text/html")
    beside = html(response).split(f'id="field-{field}"')[1].split('id="field-')[0]
    assert f"{code!r} among those you may export" in beside.replace("&#x27;", "'")
    assert not ExportJob.objects.exists()


def test_an_unknown_program_is_refused_beside_its_field(scenario, client_for):
    response = client_for(scenario["finance"]).post(reverse("exports"), {"report": "accruals", "format": "csv",
                                                                         "program": "no-such"})
    assert response.status_code == 400
    beside = html(response).split('id="field-program"')[1].split('id="field-')[0]
    assert "No program no-such among those you may export" in beside


@pytest.mark.today("2026-12-03")
def test_the_file_is_named_by_the_day(scenario, client_for):
    response = client_for(scenario["finance"]).post(reverse("exports"), {"report": "accruals", "format": "xlsx",
                                                                         "customer": "SEED-001"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="accruals-SEED-001-2026-12-03.xlsx"'
    everything = client_for(scenario["finance"]).post(reverse("exports"), {"report": "accruals", "format": "xlsx"})
    assert everything["Content-Disposition"] == 'attachment; filename="accruals-2026-12-03.xlsx"'
