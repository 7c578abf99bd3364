"""Storing a checked purchase file from its page: once asked, the page shows it importing with a live progress
bar (never the checked file's button again, whatever the worker has done yet), a second ask stores nothing
twice, and the worker's commit stores the lines."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from rebates.models import ImportBatch, PurchaseLine
from rebates.services.imports import purchase_import_commit, purchase_import_preview
from tests.pages.fixtures import html

pytestmark = pytest.mark.django_db

CONTENT = (b"erp_line_id,customer,product,month,quantity,unit_price,amount\n"
           b"NEW-1,SEED-001,FAS-101,2026-11,2,12.10,24.20\n"
           b"NEW-2,C-1002,FAS-101,2026-11,3,12.10,36.30\n")



@pytest.fixture
def checked(scenario, client_for, django_capture_on_commit_callbacks):
    client = client_for(scenario["finance"])
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("imports"), {"file": SimpleUploadedFile("november.csv", CONTENT)})
    batch = ImportBatch.objects.get()
    purchase_import_preview(batch_id=batch.pk)  # what the queued task does
    return client, batch


def test_a_checked_file_shows_its_counts_and_the_store_button(checked):
    client, batch = checked

    page = html(client.get(reverse("import-detail", args=[batch.pk])))

    assert 'id="count-lines">2<' in page and 'id="count-new">2<' in page and 'id="count-unmatched">0<' in page
    assert 'id="store-lines"' in page and 'data-finished="true"' in page


def test_once_asked_to_store_the_page_shows_it_importing_until_the_worker_is_done(
        checked, django_capture_on_commit_callbacks):
    client, batch = checked
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("import-detail", args=[batch.pk]))
    assert response.status_code == 302 and len(queued) == 1
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.IMPORTING

    page = html(client.get(reverse("import-detail", args=[batch.pk])))  # the worker has not started yet
    assert 'id="store-lines"' not in page
    assert 'data-finished="false"' in page and "Importing" in page
    progress = client.get(reverse("import-progress", args=[batch.pk])).json()
    assert progress["status"] == "importing" and progress["finished"] is False

    with django_capture_on_commit_callbacks(execute=False) as again:
        client.post(reverse("import-detail", args=[batch.pk]))
    assert again == []  # asked twice, queued once

    purchase_import_commit(batch_id=batch.pk)  # what the queued task does
    assert client.get(reverse("import-progress", args=[batch.pk])).json()["finished"] is True
    page = html(client.get(reverse("import-detail", args=[batch.pk])))
    assert "Stored" in page and 'id="store-lines"' not in page
    assert set(PurchaseLine.objects.filter(erp_line_id__startswith="NEW-").values_list("erp_line_id", flat=True)) \
        == {"NEW-1", "NEW-2"}


def test_a_file_still_being_checked_cannot_be_stored(scenario, client_for, django_capture_on_commit_callbacks):
    client = client_for(scenario["finance"])
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("imports"), {"file": SimpleUploadedFile("november.csv", CONTENT)})
    batch = ImportBatch.objects.get()

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("import-detail", args=[batch.pk]), follow=True)
    assert queued == []
    assert "only a checked file can be stored" in html(response)
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.PENDING


# --- a rejected file, and the template ------------------------------------------------------------------------

BAD_ROWS = [
    ["BAD-1", "SEED-001", "FAS-101", "2026-11", "two", "12.10", "24.20"],  # quantity is no number
    ["BAD-2", "NOBODY", "FAS-101", "2026-13", "3", "12.10", "36.30"],  # unknown customer, no such month
]


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_a_rejected_file_lists_every_problem_by_row_and_column(scenario, client_for, django_capture_on_commit_callbacks,
                                                               kind):
    from tests.excel.workbooks import purchase_csv, purchase_xlsx

    content = purchase_xlsx(BAD_ROWS) if kind == "xlsx" else purchase_csv(BAD_ROWS)
    client = client_for(scenario["finance"])
    with django_capture_on_commit_callbacks(execute=False):
        client.post(reverse("imports"), {"file": SimpleUploadedFile(f"bad.{kind}", content)})
    batch = ImportBatch.objects.get()
    purchase_import_preview(batch_id=batch.pk)  # what the queued task does

    response = client.get(reverse("import-detail", args=[batch.pk]))

    assert response.status_code == 200
    page = html(response)
    assert "Rejected" in page and 'id="import-errors"' in page
    rows = page[page.index('id="import-errors"'):page.index("</table>", page.index('id="import-errors"'))]
    assert "<td>2</td><td>E</td><td>quantity</td>" in rows
    assert "<td>3</td><td>B</td><td>customer</td>" in rows and "NOBODY" in rows
    assert "<td>3</td><td>D</td><td>month</td>" in rows
    assert not PurchaseLine.objects.filter(erp_line_id__startswith="BAD-").exists()


def test_the_imports_page_links_the_template_in_both_formats(scenario, client_for):
    client = client_for(scenario["finance"])
    page = html(client.get(reverse("imports")))
    assert f'href="{reverse("import-template", args=["xlsx"])}"' in page
    assert f'href="{reverse("import-template", args=["csv"])}"' in page

    csv = client.get(reverse("import-template", args=["csv"]))
    assert csv.status_code == 200 and csv.content.lstrip(b"\xef\xbb\xbf").startswith(b"erp_line_id,customer,product")
    xlsx = client.get(reverse("import-template", args=["xlsx"]))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert 'filename="purchase-lines-template.xlsx"' in xlsx["Content-Disposition"]
    assert client.get(reverse("import-template", args=["pdf"])).status_code == 404


@pytest.mark.parametrize("role", ["am", "pricing"])
def test_only_importers_get_the_template(scenario, client_for, role):
    assert client_for(scenario[role]).get(reverse("import-template", args=["xlsx"])).status_code == 403
