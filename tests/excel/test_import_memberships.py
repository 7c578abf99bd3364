"""Buying-group memberships from .xlsx and .csv (docs/buying-groups.md, docs/excel.md): through the imports
page and the same guards as a purchase file, previewed then stored, each row stated by the memberships API's
service; every bad row and column named with nothing stored; a file sent again changes nothing."""

import datetime
import io

import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import load_workbook

from customers import roles
from customers.models import AuditRecord, GroupMembership
from customers.services import group_membership_record
from rebates.imports import memberships_import_template
from rebates.models import AccrualMark, ImportBatch
from rebates.services.imports import purchase_import_commit, purchase_import_preview, purchase_import_start
from tests.api.conftest import client_for
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-07-15")]

HEADER = "group,member,joined,ended\n"


def month(year, number):
    return datetime.date(year, number, 1)


@pytest.fixture
def erp_user():
    return UserFactory(username="erp", role=roles.ERP_INTEGRATION)


@pytest.fixture
def groups():
    manager = UserFactory(username="am.groups", role=roles.ACCOUNT_MANAGER)
    made = {code: CustomerFactory(code=code, is_group=True, account_manager=manager) for code in ("G-1", "G-2")}
    made.update({code: CustomerFactory(code=code) for code in ("M-1", "M-2", "M-3")})
    made["manager"] = manager
    return made


def csv_file(*rows):
    return (HEADER + "".join(",".join(row) + "\n" for row in rows)).encode()


def xlsx_file(*rows):
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer)
    sheet = workbook.add_worksheet()
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, ("Group code", "Member code", "Joined", "Ended"))
    for number, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if isinstance(value, datetime.date):
                sheet.write_datetime(number, col, datetime.datetime.combine(value, datetime.time()), date_format)
            elif value != "":
                sheet.write_string(number, col, value)
    workbook.close()
    return buffer.getvalue()


def imported(content, user, *, name="members.csv", commit=True):
    """Start, preview and (asked) commit a membership file as the page's tasks do; the batch at the end."""
    batch = purchase_import_start(user=user, upload=content, name=name, kind=ImportBatch.Kind.MEMBERSHIPS)
    batch = purchase_import_preview(batch_id=batch.pk).batch
    if commit and batch.status == ImportBatch.Status.PREVIEWED:
        batch = purchase_import_commit(batch_id=batch.pk, user=user).batch
    return batch


def memberships():
    return sorted((m.group.code, m.member.code, m.joined, m.ended) for m in GroupMembership.objects.all())


def test_a_preview_counts_and_stores_nothing_then_the_commit_states_every_row(groups, erp_user):
    content = csv_file(("G-1", "M-1", "2026-01", ""), ("G-1", "M-2", "2026-02", "2026-05"))

    batch = imported(content, erp_user, commit=False)
    assert batch.status == ImportBatch.Status.PREVIEWED
    assert (batch.line_count, batch.created_count, batch.updated_count, batch.unchanged_count) == (2, 2, 0, 0)
    assert memberships() == []
    assert not AuditRecord.objects.filter(action__startswith="group_membership.").exists()

    batch = purchase_import_commit(batch_id=batch.pk, user=erp_user).batch

    assert batch.status == ImportBatch.Status.STORED and batch.created_count == 2
    assert memberships() == [("G-1", "M-1", month(2026, 1), None), ("G-1", "M-2", month(2026, 2), month(2026, 5))]
    # Through the memberships API's service: its audit row for each, and the file's own.
    assert AuditRecord.objects.filter(action="group_membership.create").count() == 2
    assert AuditRecord.objects.filter(action="membership_import.commit").count() == 1
    assert not batch.file  # the upload is not kept once stored


def test_the_memberships_stored_are_those_the_api_lists(groups, erp_user):
    imported(csv_file(("G-1", "M-1", "2026-01", ""), ("G-1", "M-3", "2025-11", "2026-03")), erp_user)

    answer = client_for(erp_user).get("/api/v1/customers/G-1/memberships/")

    assert answer.status_code == 200
    assert answer.json() == [{"group": "G-1", "member": "M-3", "joined": "2025-11", "ended": "2026-03"},
                             {"group": "G-1", "member": "M-1", "joined": "2026-01", "ended": None}]


def test_a_membership_marks_the_group_agreement_for_the_next_run(groups, erp_user):
    agreement = AgreementFactory(number="AG-G1", customer=groups["G-1"], products=[ProductFactory(sku="W-1")])
    AccrualMark.objects.all().delete()

    imported(csv_file(("G-1", "M-1", "2026-01", "")), erp_user)

    assert AccrualMark.objects.filter(agreement=agreement).exists()


def test_an_xlsx_with_date_cells_and_other_header_names_is_read_by_month(groups, erp_user):
    content = xlsx_file(("G-2", "M-1", datetime.date(2026, 3, 17), datetime.date(2026, 9, 1)))

    batch = imported(content, erp_user, name="members.xlsx")

    assert batch.status == ImportBatch.Status.STORED, batch.errors
    assert memberships() == [("G-2", "M-1", month(2026, 3), month(2026, 9))]


def test_bad_codes_and_months_are_named_by_row_and_column_and_nothing_is_stored(groups, erp_user):
    content = csv_file(("G-1", "M-1", "2026-01", ""),  # good, but the file is refused whole
                       ("G-9", "M-2", "2026-01", ""),
                       ("G-1", "M-9", "2026-01", ""),
                       ("M-3", "M-2", "2026-01", ""),  # not a buying group
                       ("G-2", "G-1", "2026-01", ""),  # a group is never a member
                       ("G-2", "M-3", "2026-13", ""),
                       ("G-2", "M-3", "2026-04", "2026-02"))

    batch = imported(content, erp_user)

    assert batch.status == ImportBatch.Status.REJECTED
    found = {(error["row"], error["column"]): error["message"] for error in batch.errors}
    assert found[(3, "A")] == "Row 3, column A (group): No buying group you may see has the code 'G-9'."
    assert found[(4, "B")] == "Row 4, column B (member): No customer has the ERP code 'M-9'."
    assert "M-3 is not a buying group" in found[(5, "A")]
    assert "G-1 is a buying group: a group is never a member" in found[(6, "B")]
    assert found[(7, "C")] == "Row 7, column C (joined): A month as YYYY-MM, not '2026-13'."
    assert (8, "D") in found or (8, "C") in found  # ended before joined
    assert not any(error["row"] == 2 for error in batch.errors)
    assert memberships() == []


def test_an_overlapping_membership_is_refused_with_the_reason(groups, erp_user):
    group_membership_record(by=erp_user, group=groups["G-2"], member=groups["M-1"], joined=month(2026, 1))

    batch = imported(csv_file(("G-1", "M-2", "2026-01", ""), ("G-1", "M-1", "2026-03", "")), erp_user)

    assert batch.status == ImportBatch.Status.REJECTED
    [error] = batch.errors
    assert (error["row"], error["column"], error["field"]) == (3, "C", "joined")
    assert "M-1 is a member of G-2 from 2026-01 in those months: one group at a time." in error["message"]
    assert memberships() == [("G-2", "M-1", month(2026, 1), None)]  # M-2's row is not stored either


def test_rows_of_one_file_that_overlap_each_other_are_refused(groups, erp_user):
    batch = imported(csv_file(("G-1", "M-1", "2026-01", ""), ("G-2", "M-1", "2026-06", "")), erp_user,
                     commit=False)

    assert batch.status == ImportBatch.Status.REJECTED
    assert [(error["row"], error["column"]) for error in batch.errors] == [(3, "C")]
    assert "one group at a time" in batch.errors[0]["message"]


def test_a_file_sent_again_changes_nothing_and_an_end_sent_later_changes_the_membership(groups, erp_user):
    rows = (("G-1", "M-1", "2026-01", ""), ("G-1", "M-2", "2026-02", ""))
    imported(csv_file(*rows), erp_user)
    audits = AuditRecord.objects.filter(action__startswith="group_membership.").count()

    again = imported(csv_file(*rows), erp_user)

    assert again.status == ImportBatch.Status.STORED
    assert (again.created_count, again.updated_count, again.unchanged_count) == (0, 0, 2)
    assert GroupMembership.objects.count() == 2
    assert AuditRecord.objects.filter(action__startswith="group_membership.").count() == audits

    ended = imported(csv_file(("G-1", "M-1", "2026-01", "2026-06")), erp_user)

    assert (ended.created_count, ended.updated_count) == (0, 1)
    assert memberships() == [("G-1", "M-1", month(2026, 1), month(2026, 6)), ("G-1", "M-2", month(2026, 2), None)]


def test_the_same_membership_twice_in_one_file_is_named(groups, erp_user):
    batch = imported(csv_file(("G-1", "M-1", "2026-01", ""), ("G-1", "M-1", "2026-01", "2026-04")), erp_user)

    assert batch.status == ImportBatch.Status.REJECTED
    assert batch.errors[0]["message"] == ("Row 3, column C (joined): The same membership (group, member, joined) "
                                          "is already row 2 of this file.")


def test_only_groups_the_importing_user_may_see_are_found(groups):
    other_manager = UserFactory(username="am.other", role=roles.ACCOUNT_MANAGER)

    batch = imported(csv_file(("G-1", "M-1", "2026-01", "")), other_manager, commit=False)

    assert batch.status == ImportBatch.Status.REJECTED
    assert "No buying group you may see has the code 'G-1'" in batch.errors[0]["message"]


def test_a_file_without_the_membership_columns_is_refused_plainly(groups, erp_user):
    batch = imported(b"group,customer_x\nG-1,M-1\n", erp_user)

    assert batch.status == ImportBatch.Status.REJECTED
    assert "missing: member, joined" in batch.errors[0]["message"]


def test_a_hostile_file_is_refused_by_the_same_guards(groups, erp_user):
    batch = imported(b"PK\x03\x04 not really a workbook", erp_user, name="members.csv")

    assert batch.status == ImportBatch.Status.REJECTED
    assert "workbook" in batch.errors[0]["message"]


def test_the_template_names_the_columns_with_examples():
    workbook = load_workbook(io.BytesIO(memberships_import_template("xlsx").content))
    sheet = workbook["Group memberships"]
    assert [cell.value for cell in sheet[1]] == ["group", "member", "joined", "ended"]
    assert [cell.value for cell in sheet[2]][:3] == ["G00007", "C00042", "2026-01"]
    assert memberships_import_template("csv").content.decode("utf-8-sig").splitlines()[0] == "group,member,joined,ended"


# --- the page -------------------------------------------------------------------------------------------


def test_the_page_takes_a_membership_file_previews_it_and_stores_it(groups, erp_user, client,
                                                                    django_capture_on_commit_callbacks):
    client.force_login(erp_user)
    page = client.get(reverse("imports")).content.decode()
    assert 'id="import-memberships-template"' in page and 'id="import-template"' not in page

    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("imports"), {
            "kind": "memberships", "file": SimpleUploadedFile("members.csv", csv_file(("G-1", "M-1", "2026-01", "")))})
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and batch.kind == ImportBatch.Kind.MEMBERSHIPS and len(queued) == 1
    purchase_import_preview(batch_id=batch.pk)  # what the queued task does
    assert memberships() == []
    detail = client.get(reverse("import-detail", args=[batch.pk])).content.decode()
    assert "Store these 1 memberships" in detail and 'id="count-unmatched"' not in detail

    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post(reverse("import-detail", args=[batch.pk]))
    assert len(queued) == 1
    purchase_import_commit(batch_id=batch.pk, user=erp_user)  # what the queued task does

    assert memberships() == [("G-1", "M-1", month(2026, 1), None)]
    template = client.get(reverse("import-template", args=["csv"]) + "?kind=memberships")
    assert template.status_code == 200 and template.content.decode("utf-8-sig").startswith("group,member")


def test_a_user_who_may_not_state_memberships_cannot_import_them(groups, client):
    finance = UserFactory(username="finance", role=roles.FINANCE)
    client.force_login(finance)

    response = client.post(reverse("imports"), {
        "kind": "memberships", "file": SimpleUploadedFile("members.csv", csv_file(("G-1", "M-1", "2026-01", "")))})

    assert response.status_code == 400 and "Choose what the file holds" in response.content.decode()
    assert not ImportBatch.objects.exists()
    assert client.get(reverse("import-template", args=["csv"]) + "?kind=memberships").status_code == 403
    client.force_login(groups["manager"])
    assert client.get(reverse("imports")).status_code == 403
