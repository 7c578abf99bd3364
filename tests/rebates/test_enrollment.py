"""Segment-wide programs (docs/programs.md, "Segment-wide programs"): the template's agreements for every
active customer of a target segment, joiners from the next month, leavers keeping what they earned, overrides
kept by a template change, and a template change from a month reaching the ledger through the run."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from customers.models import AuditRecord, Customer
from customers.services import customer_update
from rebates.models import EARNED_KINDS, LedgerEntry, RebateAgreement
from rebates.services import accrual_run_perform, accrual_run_start
from rebates.services.catalog import agreement_update
from rebates.services.enrollment import (
    EnrollmentConflict,
    program_enroll,
    program_template_change,
    program_template_set,
)
from rebates.tasks import nightly_program_enrollment
from tests.factories import (
    AgreementFactory,
    CustomerFactory,
    PerUnitRuleFactory,
    ProductFactory,
    ProductLineFactory,
    ProgramFactory,
    PurchaseLineFactory,
    SegmentFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
JAN, JUN, JUL, DEC = (datetime.date(2026, m, 1) for m in (1, 6, 7, 12))
PER_UNIT = {"kind": "per_unit", "rate_type": "per_unit", "rate": D("0.25")}


@pytest.fixture
def world():
    contractors, retail = SegmentFactory(code="contractors"), SegmentFactory(code="retail")
    line = ProductLineFactory(code="fasteners")
    product = ProductFactory(product_line=line)
    program = ProgramFactory(code="contractors-2026")
    program_template_set(by=None, program=program, start_month=JAN, end_month=DEC, rule=PER_UNIT,
                         product_lines=[line], target_segments=[contractors])
    a = CustomerFactory(code="C-A", segment=contractors)
    b = CustomerFactory(code="C-B", segment=contractors)
    CustomerFactory(code="C-R", segment=retail)
    CustomerFactory(code="C-L", segment=contractors, status="lost", lost_on=datetime.date(2025, 11, 30))
    return {"program": program, "contractors": contractors, "retail": retail, "line": line, "product": product,
            "a": a, "b": b}


def enrolled(program):
    return {a.customer.code: a for a in RebateAgreement.objects.filter(program=program, enrolled=True)
            .select_related("customer", "rule")}


def accrue(as_of):
    run = accrual_run_start(as_of=as_of, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk, close_settlements=False)


def earned(agreement):
    return LedgerEntry.objects.filter(agreement=agreement, kind__in=EARNED_KINDS).aggregate(s=Sum("amount"))["s"]


def test_every_active_customer_of_a_target_segment_gets_the_templates_agreement(world):
    done = program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 20), by=None)
    agreements = enrolled(world["program"])
    assert sorted(agreements) == ["C-A", "C-B"]  # not retail, not the lost customer
    assert len(done.enrolled) == 2
    a = agreements["C-A"]
    assert (a.start_month, a.end_month, a.status, a.overridden) == (JAN, DEC, "active", False)
    assert (a.rule.kind, a.rule.rate) == ("per_unit", D("0.250000"))
    assert list(a.product_lines.values_list("code", flat=True)) == ["fasteners"]
    assert AuditRecord.objects.filter(action="agreement.create", target_id=str(a.pk)).exists()
    assert AuditRecord.objects.filter(action="program.enroll").count() == 1


def test_enrolling_twice_makes_the_same_agreements(world):
    program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 20), by=None)
    first = sorted(RebateAgreement.objects.values_list("pk", "number"))
    done = program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 20), by=None)
    assert (done.enrolled, done.ended, done.withdrawn) == ([], [], [])
    assert sorted(RebateAgreement.objects.values_list("pk", "number")) == first
    assert AuditRecord.objects.filter(action="program.enroll").count() == 1


def test_a_customer_joining_the_segment_later_is_enrolled_from_the_next_month(world):
    program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 20), by=None)
    mover = Customer.objects.get(code="C-R")
    for month in (3, 4):
        PurchaseLineFactory(customer=mover, product=world["product"], month=datetime.date(2026, month, 1),
                            quantity=D("10"))
    accrue(datetime.date(2026, 3, 14))
    customer_update(by=None, customer=mover, segment=world["contractors"])
    program_enroll(program=world["program"], as_of=datetime.date(2026, 3, 15), by=None)
    joined = enrolled(world["program"])["C-R"]
    assert (joined.start_month, joined.end_month) == (datetime.date(2026, 4, 1), DEC)
    assert joined.number == f"EN-{world['program'].pk}-{mover.pk}-202604"
    # The incremental run after the enrollment books April only (March was before it joined).
    accrue(datetime.date(2026, 4, 30))
    assert earned(joined) == D("2.50")


def test_a_customer_leaving_the_segment_keeps_what_it_earned(world):
    program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 20), by=None)
    for month in range(1, 8):
        PurchaseLineFactory(customer=world["a"], product=world["product"], month=datetime.date(2026, month, 1),
                            quantity=D("10"))
    accrue(datetime.date(2026, 5, 31))
    agreement = enrolled(world["program"])["C-A"]
    assert earned(agreement) == D("12.50")
    customer_update(by=None, customer=world["a"], segment=world["retail"])
    done = program_enroll(program=world["program"], as_of=datetime.date(2026, 5, 20), by=None)
    assert [a.number for a in done.ended] == [agreement.number]
    agreement.refresh_from_db()
    # The term ends with the month it left; nothing is forfeited; June on is not its to earn.
    assert (agreement.end_month, agreement.status) == (datetime.date(2026, 5, 1), "active")
    accrue(datetime.date(2026, 7, 31))
    assert earned(agreement) == D("12.50")
    assert not LedgerEntry.objects.filter(agreement=agreement, kind="forfeiture").exists()


def test_a_leaver_whose_agreement_had_not_begun_is_withdrawn_and_back_in_time_is_enrolled_again(world):
    program_enroll(program=world["program"], as_of=datetime.date(2025, 11, 20), by=None)
    customer_update(by=None, customer=world["b"], segment=None)
    done = program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 1), by=None)
    agreement = enrolled(world["program"])["C-B"]
    assert [a.pk for a in done.withdrawn] == [agreement.pk] and agreement.status == "draft"
    # A template change meanwhile reaches it too, so it comes back with the template's rule.
    program_template_change(program=world["program"], rule={**PER_UNIT, "rate": D("0.30")}, from_month=DEC,
                            as_of=datetime.date(2025, 12, 1), by=None)
    customer_update(by=None, customer=world["b"], segment=world["contractors"])
    done = program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 2), by=None)
    agreement.refresh_from_db()
    assert [a.pk for a in done.enrolled] == [agreement.pk] and agreement.status == "active"
    assert agreement.rule.rate == D("0.300000")


def test_a_customer_with_its_own_deal_in_the_program_is_not_enrolled_beside_it(world):
    deal = AgreementFactory(customer=world["a"], program=world["program"], number="AG-1TO1")
    PerUnitRuleFactory(agreement=deal)
    program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 20), by=None)
    assert sorted(enrolled(world["program"])) == ["C-B"]


def test_changing_an_enrolled_agreements_rule_marks_it_overridden(world):
    program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 20), by=None)
    agreement = enrolled(world["program"])["C-A"]
    agreement_update(by=None, agreement=agreement, rule={**PER_UNIT, "rate": D("0.40")})
    agreement.refresh_from_db()
    assert agreement.overridden
    record = AuditRecord.objects.filter(action="agreement.update", target_id=str(agreement.pk)).get()
    assert record.data["overridden"] == ["False", "True"]


def test_a_template_change_passes_overridden_agreements_by_and_splits_running_ones(world):
    program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 20), by=None)
    mine = enrolled(world["program"])
    agreement_update(by=None, agreement=mine["C-B"], rule={**PER_UNIT, "rate": D("0.40")})
    changed = program_template_change(program=world["program"], rule={**PER_UNIT, "rate": D("0.50")},
                                      from_month=DEC, as_of=datetime.date(2026, 11, 23), by=None)
    assert [a.number for a in changed] == [f"EN-{world['program'].pk}-{world['a'].pk}-202612"]
    old = RebateAgreement.objects.get(pk=mine["C-A"].pk)
    assert (old.end_month, old.rule.rate) == (datetime.date(2026, 11, 1), D("0.250000"))
    successor = RebateAgreement.objects.get(number=changed[0].number)
    assert (successor.start_month, successor.end_month, successor.rule.rate, successor.overridden) == (
        DEC, DEC, D("0.500000"), False)
    b = RebateAgreement.objects.get(pk=mine["C-B"].pk)
    assert (b.end_month, b.rule.rate) == (DEC, D("0.400000"))
    assert world["program"].__class__.objects.get().template["rule"]["rate"] == "0.5"
    assert AuditRecord.objects.filter(action="program.template_change").count() == 1


def test_a_template_change_from_a_month_reaches_the_ledger_through_the_run(world):
    program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 20), by=None)
    for month in range(1, 13):
        PurchaseLineFactory(customer=world["a"], product=world["product"], month=datetime.date(2026, month, 1),
                            quantity=D("10"))
    accrue(datetime.date(2026, 6, 30))
    program_template_change(program=world["program"], rule={**PER_UNIT, "rate": D("0.50")}, from_month=JUL,
                            as_of=datetime.date(2026, 7, 1), by=None)
    accrue(datetime.date(2026, 12, 31))
    first = RebateAgreement.objects.get(number=f"EN-{world['program'].pk}-{world['a'].pk}-202601")
    second = RebateAgreement.objects.get(number=f"EN-{world['program'].pk}-{world['a'].pk}-202607")
    assert earned(first) == D("15.00")  # January to June at $0.25 on 10 units
    assert earned(second) == D("30.00")  # July to December at $0.50
    # Agreements that start after the month take the new rule whole.
    program_template_change(program=world["program"], rule={**PER_UNIT, "rate": D("0.60")}, from_month=JUL,
                            as_of=datetime.date(2026, 7, 2), by=None)
    second.refresh_from_db()
    assert (second.start_month, second.rule.rate) == (JUL, D("0.600000"))


@pytest.mark.parametrize(("from_month", "as_of"), [
    (datetime.date(2026, 5, 1), datetime.date(2026, 6, 10)),  # a month already under way or accrued
    (datetime.date(2027, 1, 1), datetime.date(2026, 6, 10)),  # outside the template's term
])
def test_a_template_change_names_a_month_of_the_term_not_yet_past(world, from_month, as_of):
    with pytest.raises(ValidationError) as raised:
        program_template_change(program=world["program"], rule=PER_UNIT, from_month=from_month, as_of=as_of,
                                by=None)
    assert "from_month" in raised.value.message_dict


def test_a_template_rule_is_checked_as_an_agreements_rule(world):
    with pytest.raises(ValidationError) as raised:
        program_template_set(by=None, program=ProgramFactory(), start_month=JAN, end_month=DEC,
                             rule={"kind": "tiered", "rate_type": "percent", "tier_basis": "quantity",
                                   "tier_method": "retroactive",
                                   "bands": [{"threshold": D("100"), "rate": D("1")}]},
                             product_lines=[world["line"]])
    assert "rule" in raised.value.message_dict


def test_the_term_and_scope_stay_once_customers_are_enrolled(world):
    program_enroll(program=world["program"], as_of=datetime.date(2025, 12, 20), by=None)
    with pytest.raises(EnrollmentConflict):
        program_template_set(by=None, program=world["program"], start_month=JAN, end_month=JUN, rule=PER_UNIT,
                             product_lines=[world["line"]], target_segments=[world["contractors"]])
    # The target segments may change: the next enrollment follows them.
    program_template_set(by=None, program=world["program"], start_month=JAN, end_month=DEC, rule=PER_UNIT,
                         product_lines=[world["line"]], target_segments=[world["contractors"], world["retail"]])


@pytest.mark.today("2026-03-10")
def test_the_nightly_task_enrolls_and_is_safe_twice(world):
    assert nightly_program_enrollment.apply().get() == 2
    assert sorted(enrolled(world["program"])) == ["C-A", "C-B"]
    assert enrolled(world["program"])["C-A"].start_month == datetime.date(2026, 4, 1)
    assert nightly_program_enrollment.apply().get() == 0
    assert RebateAgreement.objects.count() == 2


def test_the_nightly_enrollment_runs_before_the_accrual_run():
    from django_celery_beat.models import PeriodicTask

    entries = {task.name: task for task in PeriodicTask.objects.all()}
    assert int(entries["Nightly program enrollment"].crontab.hour) < int(entries["Nightly accrual run"].crontab.hour)


def test_enrolling_a_large_segment_costs_the_same_queries_as_a_small_one(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small, large = ProgramFactory(code="small"), ProgramFactory(code="large")
    few, many = SegmentFactory(code="few"), SegmentFactory(code="many")
    CustomerFactory.create_batch(3, segment=few)
    CustomerFactory.create_batch(40, segment=many)
    counts = []
    for program, segment in ((small, few), (large, many)):
        program_template_set(by=None, program=program, start_month=JAN, end_month=DEC, rule=PER_UNIT,
                             product_lines=[world["line"]], target_segments=[segment])
        with CaptureQueriesContext(connection) as queries:
            done = program_enroll(program=program, as_of=datetime.date(2025, 12, 20), by=None)
        counts.append(len(queries))
        assert len(done.enrolled) == segment.customers.count()
    assert counts[0] == counts[1]
    assert AuditRecord.objects.filter(action="agreement.create").count() == 43
