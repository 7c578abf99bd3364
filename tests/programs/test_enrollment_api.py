"""Segment-wide programs through the API: the template and segments on the program, enroll now, a template
change from a month; 400 naming the field, 409 on a conflict, 403 for those who may not."""

import datetime

import pytest

from customers import roles
from customers.models import AuditRecord
from rebates.models import RebateAgreement, RebateProgram
from tests.api.conftest import client_for
from tests.factories import CustomerFactory, ProductLineFactory, ProgramFactory, SegmentFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.today("2025-12-10")]

TEMPLATE = {"start_month": "2026-01", "end_month": "2026-12", "settlement_frequency": "annual",
            "product_lines": ["fasteners"], "target_segments": ["contractors"],
            "rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.25"}}


@pytest.fixture
def world():
    contractors = SegmentFactory(code="contractors")
    ProductLineFactory(code="fasteners")
    program = ProgramFactory(code="contractors-2026")
    am_one = UserFactory(username="am.one", role=roles.ACCOUNT_MANAGER)
    am_two = UserFactory(username="am.two", role=roles.ACCOUNT_MANAGER)
    CustomerFactory(code="C-ONE", segment=contractors, account_manager=am_one)
    CustomerFactory(code="C-TWO", segment=contractors, account_manager=am_two)
    return {"program": program, "pricing": UserFactory(username="pm", role=roles.PRICING_MANAGER),
            "erp": UserFactory(username="erp", role=roles.ERP_INTEGRATION),
            "finance": UserFactory(username="fin", role=roles.FINANCE), "am_one": am_one}


def url(program, action=""):
    return f"/api/v1/programs/{program.code}/{action}"


def test_the_erp_sets_the_template_and_the_program_shows_it(world):
    response = client_for(world["erp"]).post(url(world["program"], "template/"), TEMPLATE, format="json")
    assert response.status_code == 200, response.content
    body = client_for(world["erp"]).get(url(world["program"])).json()
    assert body["target_segments"] == ["contractors"]
    assert body["template"]["start_month"] == "2026-01"
    assert body["template"]["product_lines"] == ["fasteners"]
    assert (body["template"]["rule"]["kind"], body["template"]["rule"]["rate"]) == ("per_unit", "0.250000")
    assert AuditRecord.objects.filter(action="program.template_set").count() == 1


def test_enroll_now_makes_the_agreements_and_twice_makes_none(world):
    pricing = client_for(world["pricing"])
    pricing.post(url(world["program"], "template/"), TEMPLATE, format="json")
    first = pricing.post(url(world["program"], "enroll/"), {}, format="json")
    assert first.status_code == 200
    assert len(first.json()["enrolled"]) == 2
    assert pricing.post(url(world["program"], "enroll/"), {}, format="json").json()["enrolled"] == []
    assert RebateAgreement.objects.filter(enrolled=True).count() == 2


def test_an_account_manager_sees_only_their_customers_enrolled_agreements(world):
    pricing = client_for(world["pricing"])
    pricing.post(url(world["program"], "template/"), TEMPLATE, format="json")
    pricing.post(url(world["program"], "enroll/"), {}, format="json")
    listed = client_for(world["am_one"]).get("/api/v1/agreements/").json()["results"]
    assert [row["customer"] for row in listed] == ["C-ONE"]


def test_overriding_one_agreement_and_changing_the_template_from_a_month(world):
    pricing, erp = client_for(world["pricing"]), client_for(world["erp"])
    pricing.post(url(world["program"], "template/"), TEMPLATE, format="json")
    pricing.post(url(world["program"], "enroll/"), {}, format="json")
    one, two = RebateAgreement.objects.filter(enrolled=True).order_by("customer__code")
    response = erp.patch(f"/api/v1/agreements/{one.number}/",
                         {"rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.40"}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["overridden"] is True
    response = pricing.post(url(world["program"], "template-change/"), {
        "from_month": "2026-01", "rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.50"}},
        format="json")
    assert response.status_code == 200, response.content
    assert response.json()["agreements"] == [two.number]
    assert response.json()["program"]["template"]["rule"]["rate"] == "0.500000"
    one.refresh_from_db()
    two.refresh_from_db()
    assert (str(one.rule.rate), str(two.rule.rate)) == ("0.400000", "0.500000")


@pytest.mark.parametrize(("change", "field"), [
    ({"start_month": "2026-13"}, "start_month"),
    ({"target_segments": ["nowhere"]}, "target_segments"),
    ({"rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "-1"}}, "rule.rate"),
    ({"end_month": "2025-06"}, "end_month"),
    ({"product_lines": []}, "product_lines"),
])
def test_a_bad_template_is_a_400_naming_the_field_with_nothing_stored(world, change, field):
    response = client_for(world["erp"]).post(url(world["program"], "template/"), {**TEMPLATE, **change},
                                             format="json")
    assert response.status_code == 400, response.content
    assert field in {detail["field"] for detail in response.json()["details"]}, response.json()
    assert RebateProgram.objects.get().template is None


@pytest.mark.parametrize(("from_month", "status"), [("2025-11", 400), ("2027-02", 400), ("x", 400)])
def test_a_template_change_names_a_bad_month(world, from_month, status):
    pricing = client_for(world["pricing"])
    pricing.post(url(world["program"], "template/"), TEMPLATE, format="json")
    response = pricing.post(url(world["program"], "template-change/"), {
        "from_month": from_month, "rule": TEMPLATE["rule"]}, format="json")
    assert response.status_code == status
    assert "from_month" in {detail["field"] for detail in response.json()["details"]}


def test_conflicts_are_409(world):
    pricing = client_for(world["pricing"])
    response = pricing.post(url(world["program"], "template-change/"), {
        "from_month": "2026-02", "rule": TEMPLATE["rule"]}, format="json")
    assert response.status_code == 409  # no template yet
    pricing.post(url(world["program"], "template/"), TEMPLATE, format="json")
    pricing.post(url(world["program"], "enroll/"), {}, format="json")
    response = pricing.post(url(world["program"], "template/"), {**TEMPLATE, "end_month": "2026-06"}, format="json")
    assert response.status_code == 409
    assert "template change" in response.json()["message"]


def test_finance_and_account_managers_may_not_enroll(world):
    for user in (world["finance"], world["am_one"]):
        client = client_for(user)
        assert client.post(url(world["program"], "enroll/"), {}, format="json").status_code == 403
        assert client.post(url(world["program"], "template/"), TEMPLATE, format="json").status_code == 403
    assert not RebateAgreement.objects.exists()


def test_the_program_list_reads_in_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    for n in range(5):
        program = ProgramFactory(code=f"extra-{n}")
        client_for(world["erp"]).post(url(program, "template/"), TEMPLATE, format="json")
    with django_assert_max_num_queries(14):
        assert client_for(world["erp"]).get("/api/v1/programs/").status_code == 200


def test_a_date_pinned_enrollment_is_from_the_templates_first_month(world):
    pricing = client_for(world["pricing"])
    pricing.post(url(world["program"], "template/"), TEMPLATE, format="json")
    pricing.post(url(world["program"], "enroll/"), {}, format="json")
    assert set(RebateAgreement.objects.values_list("start_month", flat=True)) == {datetime.date(2026, 1, 1)}


def test_the_template_sent_back_as_the_program_shows_it_changes_nothing(world):
    erp = client_for(world["erp"])
    erp.post(url(world["program"], "template/"), TEMPLATE, format="json")
    client_for(world["pricing"]).post(url(world["program"], "enroll/"), {}, format="json")
    shown = erp.get(url(world["program"])).json()
    response = erp.post(url(world["program"], "template/"), {**shown["template"],
                                                             "target_segments": shown["target_segments"]},
                        format="json")
    assert response.status_code == 200, response.content
    assert AuditRecord.objects.filter(action="program.template_set").count() == 1
