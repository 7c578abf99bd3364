"""Segment-wide programs on the pages: the program's template, segments and enrolled agreements (overridden
ones marked, an account manager's own customers only), enroll now, and a template change from a month."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from customers import roles
from rebates.models import RebateAgreement
from rebates.services.catalog import agreement_update
from rebates.services.enrollment import program_enroll, program_template_set
from tests.factories import CustomerFactory, ProductLineFactory, ProgramFactory, SegmentFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-03-10")]

RULE = {"kind": "per_unit", "rate_type": "per_unit", "rate": Decimal("0.25")}


@pytest.fixture
def world():
    contractors = SegmentFactory(code="contractors", name="Contractors")
    line = ProductLineFactory(code="fasteners", name="Fasteners")
    program = ProgramFactory(code="contractors-2026", name="Contractors 2026")
    program_template_set(by=None, program=program, start_month=datetime.date(2026, 1, 1),
                         end_month=datetime.date(2026, 12, 1), rule=RULE, product_lines=[line],
                         target_segments=[contractors])
    am_one = UserFactory(username="am.one", role=roles.ACCOUNT_MANAGER)
    am_two = UserFactory(username="am.two", role=roles.ACCOUNT_MANAGER)
    CustomerFactory(code="C-ONE", name="One Builders", segment=contractors, account_manager=am_one)
    CustomerFactory(code="C-TWO", name="Two Builders", segment=contractors, account_manager=am_two)
    return {"program": program, "am_one": am_one,
            "pricing": UserFactory(username="pm", role=roles.PRICING_MANAGER)}


def page(client, program):
    return client.get(reverse("program-enrollment", args=[program.code]))


def test_the_page_shows_template_segments_and_enrolled_agreements_with_overrides_marked(world, client):
    program_enroll(program=world["program"], as_of=datetime.date(2026, 3, 10), by=None)
    one = RebateAgreement.objects.get(customer__code="C-ONE")
    agreement_update(by=None, agreement=one, rule={**RULE, "rate": Decimal("0.40")})
    client.force_login(world["pricing"])
    body = page(client, world["program"]).content.decode()
    assert "$0.25 a unit" in body
    assert "Contractors" in body and "Fasteners" in body
    assert one.number in body and "One Builders" in body and "Two Builders" in body
    assert body.count("Overridden</strong>") == 1
    assert 'id="template-change-form"' in body and 'id="enroll-form"' in body
    detail = client.get(reverse("agreement-detail", args=[one.number])).content.decode()
    assert "overridden" in detail and "segment-wide terms" in detail


def test_an_account_manager_sees_only_their_customers_and_no_forms(world, client):
    program_enroll(program=world["program"], as_of=datetime.date(2026, 3, 10), by=None)
    client.force_login(world["am_one"])
    response = page(client, world["program"])
    body = response.content.decode()
    assert response.status_code == 200
    assert "One Builders" in body and "Two Builders" not in body and "C-TWO" not in body
    assert 'id="enroll-form"' not in body
    assert client.post(reverse("program-enroll", args=[world["program"].code])).status_code == 403


def test_enroll_now_enrolls_from_next_month_and_twice_changes_nothing(world, client):
    client.force_login(world["pricing"])
    response = client.post(reverse("program-enroll", args=[world["program"].code]))
    assert response.status_code == 302
    assert set(RebateAgreement.objects.values_list("start_month", flat=True)) == {datetime.date(2026, 4, 1)}
    client.post(reverse("program-enroll", args=[world["program"].code]))
    assert RebateAgreement.objects.count() == 2
    assert "Enrolled 0" in page(client, world["program"]).content.decode()


def test_a_template_change_from_a_month_through_the_page(world, client):
    program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 10), by=None)
    client.force_login(world["pricing"])
    response = client.post(reverse("program-template-change", args=[world["program"].code]), {
        "change-kind": "per_unit", "change-rate_type": "per_unit", "change-rate": "0.50",
        "change-from_month": "2026-04"})
    assert response.status_code == 302, response.content.decode()
    successors = RebateAgreement.objects.filter(start_month=datetime.date(2026, 4, 1))
    assert [str(a.rule.rate) for a in successors] == ["0.500000", "0.500000"]
    assert "$0.50 a unit" in page(client, world["program"]).content.decode()


@pytest.mark.parametrize(("data", "message"), [
    ({"change-from_month": "2026-01"}, "This month (2026-03) or later"),
    ({"change-from_month": "soon"}, "YYYY-MM"),
    ({"change-rate": "-1"}, "rate"),
])
def test_a_bad_template_change_is_a_400_naming_the_field_with_nothing_changed(world, client, data, message):
    client.force_login(world["pricing"])
    response = client.post(reverse("program-template-change", args=[world["program"].code]), {
        "change-kind": "per_unit", "change-rate_type": "per_unit", "change-rate": "0.50",
        "change-from_month": "2026-05", **data})
    assert response.status_code == 400
    assert message in response.content.decode()
    world["program"].refresh_from_db()
    assert world["program"].template["rule"]["rate"] == "0.25"


def test_a_program_without_template_says_so(world, client):
    client.force_login(world["pricing"])
    body = page(client, ProgramFactory(code="one-to-one")).content.decode()
    assert "no template terms" in body


def test_the_admin_shows_the_template_and_enrolls_the_selected_programs(world, client):
    admin = UserFactory(username="admin.one", role=roles.ADMINISTRATOR)
    admin.is_staff = True
    admin.save()
    client.force_login(admin)
    page_body = client.get(reverse("admin:rebates_rebateprogram_change", args=[world["program"].pk])).content.decode()
    assert "$0.25 a unit" in page_body and "Contractors" in page_body
    response = client.post(reverse("admin:rebates_rebateprogram_changelist"), {
        "action": "enroll", "_selected_action": [world["program"].pk]})
    assert response.status_code == 302
    agreement = RebateAgreement.objects.filter(enrolled=True).first()
    assert RebateAgreement.objects.filter(enrolled=True).count() == 2
    body = client.get(reverse("admin:rebates_rebateagreement_change", args=[agreement.pk])).content.decode()
    assert "Overridden" in body


def test_enroll_now_on_the_page_enrolls_a_joiner_from_next_month_and_ends_a_leavers_term(world, client):
    from customers.models import Customer
    from customers.services import customer_update

    program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 10), by=None)
    joiner = CustomerFactory(code="C-NEW", name="New Builders", segment=None)
    customer_update(by=None, customer=joiner, segment=Customer.objects.get(code="C-ONE").segment)
    customer_update(by=None, customer=Customer.objects.get(code="C-TWO"), segment=None)
    client.force_login(world["pricing"])
    response = client.post(reverse("program-enroll", args=[world["program"].code]), follow=True)
    body = response.content.decode()
    assert "Enrolled 1, ended 1, withdrew 0 agreements." in body
    rows = {name: row for row in body.split("<tr>") for name in ("New Builders", "Two Builders", "One Builders")
            if f"<td>{name}</td>" in row}
    assert "2026-04 to 2026-12" in rows["New Builders"]  # joined in March: from April
    assert "2026-01 to 2026-03" in rows["Two Builders"] and "Active" in rows["Two Builders"]  # keeps its months
    assert "2026-01 to 2026-12" in rows["One Builders"]


def test_an_enrolled_agreements_rule_changed_in_the_admin_is_overridden_and_kept_by_a_template_change(world,
                                                                                                       client):
    from customers.models import AuditRecord

    program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 10), by=None)
    one = RebateAgreement.objects.get(customer__code="C-ONE")
    admin = UserFactory(username="admin.two", role=roles.ADMINISTRATOR)
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client.force_login(admin)
    data = {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.40", "min_product_lines": "", "focus_line": "",
            "focus_share": "", "clearance_rate": "", "tier_basis": "", "tier_method": "", "baseline": "",
            "baseline_amount": "", "minimum": "", "cap": "", "active_months": "", "active_window": "",
            "bands-TOTAL_FORMS": 0, "bands-INITIAL_FORMS": 0, "bonuses-TOTAL_FORMS": 0, "bonuses-INITIAL_FORMS": 0}
    response = client.post(reverse("admin:rebates_rebaterule_change", args=[one.rule.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    one.refresh_from_db()
    assert one.overridden and str(one.rule.rate) == "0.400000"
    assert AuditRecord.objects.get(action="agreement.update", target_id=str(one.pk)).actor == admin
    client.force_login(world["pricing"])
    response = client.post(reverse("program-template-change", args=[world["program"].code]), {
        "change-kind": "per_unit", "change-rate_type": "per_unit", "change-rate": "0.50",
        "change-from_month": "2026-04"})
    assert response.status_code == 302
    one.refresh_from_db()
    assert (one.end_month, str(one.rule.rate)) == (datetime.date(2026, 12, 1), "0.400000")  # its own rule, whole
    two = RebateAgreement.objects.get(customer__code="C-TWO", start_month=datetime.date(2026, 4, 1))
    assert str(two.rule.rate) == "0.500000"
