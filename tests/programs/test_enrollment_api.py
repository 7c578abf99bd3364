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
    one = CustomerFactory(code="C-ONE", segment=contractors, account_manager=am_one)
    CustomerFactory(code="C-TWO", segment=contractors, account_manager=am_two)
    return {"program": program, "one": one, "pricing": UserFactory(username="pm", role=roles.PRICING_MANAGER),
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


def test_a_joiner_from_the_next_month_and_a_leaver_keeping_what_it_earned_through_the_api(world, pinned_clock):
    from decimal import Decimal

    from django.db.models import Sum

    from rebates.models import EARNED_KINDS, LedgerEntry, ProductLine
    from tests.factories import ProductFactory, PurchaseLineFactory
    from tests.ledger import accrue

    retail = SegmentFactory(code="retail")
    CustomerFactory(code="C-R", segment=retail)
    pricing, erp = client_for(world["pricing"]), client_for(world["erp"])
    pricing.post(url(world["program"], "template/"), TEMPLATE, format="json")
    assert len(pricing.post(url(world["program"], "enroll/"), {}, format="json").json()["enrolled"]) == 2
    product = ProductFactory(product_line=ProductLine.objects.get(code="fasteners"))
    for month in range(1, 8):
        PurchaseLineFactory(customer=world["one"], product=product, month=datetime.date(2026, month, 1),
                            quantity=Decimal("10"))

    # C-R joins the segment on 15 March: enrolled from April, not from the template's January.
    pinned_clock.move_to(datetime.datetime(2026, 3, 15, 9, 0, tzinfo=datetime.UTC))
    assert erp.patch("/api/v1/customers/C-R/", {"segment": "contractors"}, format="json").status_code == 200
    joined = pricing.post(url(world["program"], "enroll/"), {}, format="json").json()
    assert len(joined["enrolled"]) == 1 and joined["enrolled"][0].endswith("-202604")
    shown = erp.get(f"/api/v1/agreements/{joined['enrolled'][0]}/").json()
    assert (shown["customer"], shown["start_month"], shown["end_month"]) == ("C-R", "2026-04", "2026-12")

    # C-ONE earned $12.50 from January to May, then leaves the segment on 10 June.
    pinned_clock.move_to(datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC))
    accrue(datetime.date(2026, 5, 31))
    agreement = RebateAgreement.objects.get(customer=world["one"], enrolled=True)

    def earned():
        return LedgerEntry.objects.filter(agreement=agreement, kind__in=EARNED_KINDS).aggregate(s=Sum("amount"))["s"]

    assert earned() == Decimal("12.50")
    pinned_clock.move_to(datetime.datetime(2026, 6, 10, 9, 0, tzinfo=datetime.UTC))
    assert erp.patch("/api/v1/customers/C-ONE/", {"segment": "retail"}, format="json").status_code == 200
    left = pricing.post(url(world["program"], "enroll/"), {}, format="json").json()
    assert (left["enrolled"], left["ended"], left["withdrawn"]) == ([], [agreement.number], [])
    shown = erp.get(f"/api/v1/agreements/{agreement.number}/").json()
    assert (shown["end_month"], shown["status"]) == ("2026-06", "active")
    # June is still its own; July is not; nothing is forfeited.
    pinned_clock.move_to(datetime.datetime(2026, 8, 1, 9, 0, tzinfo=datetime.UTC))
    accrue(datetime.date(2026, 7, 31))
    assert earned() == Decimal("15.00")
    assert not LedgerEntry.objects.filter(agreement=agreement, kind="forfeiture").exists()


def test_a_template_change_through_the_api_is_audited_and_marked_as_any_rule_change(world, pinned_clock):
    from rebates.models import AccrualMark

    pricing = client_for(world["pricing"])
    pricing.post(url(world["program"], "template/"), TEMPLATE, format="json")
    pricing.post(url(world["program"], "enroll/"), {}, format="json")
    pinned_clock.move_to(datetime.datetime(2026, 6, 10, 9, 0, tzinfo=datetime.UTC))
    AccrualMark.objects.all().delete()
    response = pricing.post(url(world["program"], "template-change/"), {
        "from_month": "2026-07", "rule": {"kind": "per_unit", "rate_type": "per_unit", "rate": "0.50"}},
        format="json")
    assert response.status_code == 200, response.content
    successors = response.json()["agreements"]
    assert len(successors) == 2 and all(number.endswith("-202607") for number in successors)
    change = AuditRecord.objects.get(action="program.template_change")
    assert change.actor == world["pricing"]
    for old in RebateAgreement.objects.filter(enrolled=True, start_month=datetime.date(2026, 1, 1)):
        assert old.end_month == datetime.date(2026, 6, 1) and str(old.rule.rate) == "0.250000"
        # Ended through the catalogue's agreement change: its own audit row and a mark for the next run.
        record = AuditRecord.objects.get(action="agreement.update", target_id=str(old.pk))
        assert record.actor == world["pricing"] and "end_month" in record.data
        assert AccrualMark.objects.filter(agreement=old).exists()
    for number in successors:
        new = RebateAgreement.objects.get(number=number)
        assert (new.start_month, str(new.rule.rate), new.overridden) == (datetime.date(2026, 7, 1), "0.500000",
                                                                         False)
        assert AuditRecord.objects.filter(target_id=str(new.pk), actor=world["pricing"]).exists()
        assert AccrualMark.objects.filter(agreement=new).exists()
