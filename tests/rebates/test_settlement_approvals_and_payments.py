"""Settlements at scale: two approvers above the threshold, paying many with a credit note number each, and
the customer statement (SETTLEMENT_SECOND_APPROVAL_ABOVE; docs/settlements.md)."""

import datetime
from decimal import Decimal
from io import BytesIO

import openpyxl
import pytest

from customers import roles
from customers.models import AuditRecord
from rebates.exports.settlement_statement import statement_xlsx
from rebates.models import LedgerEntry, RebateAgreement, Settlement
from rebates.services import (
    CreditNoteNumbering,
    SettlementConflict,
    SettlementError,
    SettlementsNotPayable,
    agreement_terminate,
    settlement_approve,
    settlement_pay,
    settlements_approve,
    settlements_pay,
)
from tests.factories import AgreementFactory, LedgerEntryFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal
PAID_ON = datetime.date(2027, 1, 20)


@pytest.fixture(autouse=True)
def threshold(settings):
    settings.SETTLEMENT_SECOND_APPROVAL_ABOVE = D("1000.00")


@pytest.fixture
def people():
    return {name: UserFactory(username=name, role=roles.FINANCE) for name in ("ann", "bob", "cat")}


def settlement(amount, *, agreement=None, month=1):
    agreement = agreement or AgreementFactory(start_month=datetime.date(2026, 1, 1),
                                              end_month=datetime.date(2026, 12, 1))
    period = datetime.date(2026, month, 1)
    LedgerEntryFactory(agreement=agreement, period=period, amount=D(amount), quantity=D("10"),
                       eligible_amount=D("100.00"))
    return Settlement.objects.create(agreement=agreement, period_start=period, period_end=period, interim=True,
                                     accrued_total=D(amount), amount=D(amount))


def approved(amount, by, second=None, **kwargs):
    s = settlement(amount, **kwargs)
    settlement_approve(settlement=s, by=by)
    if second is not None:
        settlement_approve(settlement=s, by=second)
    return Settlement.objects.get(pk=s.pk)


# --- two approvers -------------------------------------------------------------------------------------


def test_a_settlement_at_the_threshold_needs_one_approval(people):
    s = settlement_approve(settlement=settlement("1000.00"), by=people["ann"])
    assert (s.status, s.approved_by, s.second_approved_by) == ("approved", people["ann"], None)


def test_a_settlement_above_the_threshold_waits_for_a_second_approver_who_is_someone_else(people):
    s = settlement_approve(settlement=settlement("1000.01"), by=people["ann"])
    assert s.status == "approving"
    with pytest.raises(SettlementConflict, match="another person with the right to approve"):
        settlement_approve(settlement=s, by=people["ann"])
    with pytest.raises(SettlementConflict, match="second approval by another person"):
        settlement_pay(settlement=s, by=people["bob"], paid_on=PAID_ON, payment_reference="CN-1")
    s = settlement_approve(settlement=s, by=people["bob"])
    assert (s.status, s.approved_by, s.second_approved_by) == ("approved", people["ann"], people["bob"])
    assert not LedgerEntry.objects.filter(kind="payout").exists()


@pytest.mark.parametrize("payer", ["ann", "bob"])
def test_neither_approver_may_pay_a_settlement_above_the_threshold(people, payer):
    s = approved("5000.00", people["ann"], people["bob"])
    with pytest.raises(SettlementConflict, match="four eyes"):
        settlement_pay(settlement=s, by=people[payer], paid_on=PAID_ON, payment_reference="CN-1")
    paid = settlement_pay(settlement=s, by=people["cat"], paid_on=PAID_ON, payment_reference="CN-1")
    assert paid.status == "paid"
    assert LedgerEntry.objects.get(kind="payout").amount == D("-5000.00")


def test_the_database_refuses_the_same_person_as_both_approvers(people):
    from django.db import IntegrityError, transaction

    s = settlement("5000.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        Settlement.objects.filter(pk=s.pk).update(status="approved", approved_by=people["ann"],
                                                  second_approved_by=people["ann"])


def test_approving_many_gives_first_and_second_approvals_by_the_same_rule(people):
    small = settlement("10.00")
    large = settlement("2000.00")
    waiting_on_ann = approved("3000.00", people["ann"])
    waiting_on_bob = approved("4000.00", people["bob"])
    done = settlements_approve(settlement_ids=[small.pk, large.pk, waiting_on_ann.pk, waiting_on_bob.pk],
                               by=people["ann"])
    assert done.approved == sorted([small.pk, waiting_on_bob.pk])
    assert (done.awaiting_second, done.left, done.amount) == ([large.pk], [waiting_on_ann.pk], D("6010.00"))
    shown = {s.pk: (s.status, s.approved_by_id, s.second_approved_by_id) for s in Settlement.objects.all()}
    ann, bob = people["ann"].pk, people["bob"].pk
    assert shown == {small.pk: ("approved", ann, None), large.pk: ("approving", ann, None),
                     waiting_on_ann.pk: ("approving", ann, None), waiting_on_bob.pk: ("approved", bob, ann)}
    # An audit row per approval given, saying which.
    assert sorted(AuditRecord.objects.filter(action="settlement.approve", actor=people["ann"], data__bulk=True)
                  .values_list("data__approval", flat=True)) == ["first", "only", "second"]


def test_terminating_forfeits_a_settlement_awaiting_its_second_approval(people):
    s = approved("5000.00", people["ann"])
    agreement_terminate(agreement=s.agreement, terminated_on=datetime.date(2026, 6, 30), reason="left")
    assert Settlement.objects.get(pk=s.pk).status == "forfeited"


# --- paying many ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "start", "numbers"), [
    ("CN-2027-{n:05d}", 41, ["CN-2027-00041", "CN-2027-00042"]),
    ("CN-{n}", 9, ["CN-9", "CN-10"]),
    ("{n:3d}/27", 7, ["  7/27", "  8/27"]),
])
def test_a_pattern_numbers_credit_notes_from_its_start(pattern, start, numbers):
    numbering = CreditNoteNumbering(pattern=pattern, start=start)
    assert [numbering.number(start), numbering.number(start + 1)] == numbers


@pytest.mark.parametrize("pattern", ["CN-2027", "CN-{n}-{n}", "CN-{m}", "CN-{n.__class__}", "CN-{n:05x}", "{0}", ""])
def test_a_pattern_without_exactly_one_running_number_is_refused(pattern):
    with pytest.raises(SettlementError, match="one {n}"):
        CreditNoteNumbering(pattern=pattern)


def test_paying_many_by_a_pattern_pays_each_once_numbered_in_id_order(people):
    first, second = approved("10.00", people["ann"]), approved("2000.00", people["ann"], people["bob"])
    paid = settlements_pay(settlement_ids=[second.pk, first.pk], by=people["cat"], paid_on=PAID_ON,
                           numbering=CreditNoteNumbering(pattern="CN-2027-{n:04d}", start=7))
    assert [(p.id, p.payment_reference, p.amount, p.paid_on) for p in paid] == [
        (first.pk, "CN-2027-0007", D("10.00"), PAID_ON), (second.pk, "CN-2027-0008", D("2000.00"), PAID_ON)]
    assert {s.pk: (s.status, s.paid_by_id, s.payment_reference) for s in Settlement.objects.all()} == {
        first.pk: ("paid", people["cat"].pk, "CN-2027-0007"), second.pk: ("paid", people["cat"].pk, "CN-2027-0008")}
    payouts = LedgerEntry.objects.filter(kind="payout").order_by("settlement_id")
    assert [(e.settlement_id, e.amount, e.booking_key) for e in payouts] == [
        (first.pk, D("-10.00"), f"payout:s{first.pk}"), (second.pk, D("-2000.00"), f"payout:s{second.pk}")]
    assert AuditRecord.objects.filter(action="settlement.pay", actor=people["cat"]).count() == 2


def test_paying_many_sent_twice_pays_nothing_twice_and_answers_the_same(people):
    ids = [approved("10.00", people["ann"]).pk, approved("20.00", people["ann"]).pk]
    numbering = CreditNoteNumbering(pattern="CN-{n:03d}", start=1)
    once = settlements_pay(settlement_ids=ids, by=people["bob"], paid_on=PAID_ON, numbering=numbering)
    twice = settlements_pay(settlement_ids=ids, by=people["bob"], paid_on=PAID_ON + datetime.timedelta(days=1),
                            numbering=numbering)
    assert once == twice
    assert LedgerEntry.objects.filter(kind="payout").count() == 2
    assert AuditRecord.objects.filter(action="settlement.pay").count() == 2
    # Sent again with other numbers, the settlements already paid are named, and nothing more is paid.
    with pytest.raises(SettlementsNotPayable, match="already paid with credit note CN-001"):
        settlements_pay(settlement_ids=ids, by=people["bob"], paid_on=PAID_ON,
                        numbering=CreditNoteNumbering(pattern="CN-{n:03d}", start=50))


def test_a_pattern_that_would_reuse_a_credit_note_number_is_refused_naming_it(people):
    earlier = approved("10.00", people["ann"])
    settlement_pay(settlement=earlier, by=people["bob"], paid_on=PAID_ON, payment_reference="CN-002")
    ids = [approved("10.00", people["ann"]).pk, approved("20.00", people["ann"]).pk]
    with pytest.raises(SettlementsNotPayable, match=f"credit note CN-002 is already settlement {earlier.pk}'s"):
        settlements_pay(settlement_ids=ids, by=people["bob"], paid_on=PAID_ON,
                        numbering=CreditNoteNumbering(pattern="CN-{n:03d}", start=1))
    assert Settlement.objects.filter(status="paid").count() == 1
    assert LedgerEntry.objects.filter(kind="payout").count() == 1


def test_paying_many_refuses_the_lot_when_one_was_approved_by_the_payer_naming_each(people):
    fine = approved("10.00", people["ann"])
    theirs = approved("2000.00", people["bob"], people["cat"])
    draft = settlement("10.00")
    with pytest.raises(SettlementsNotPayable) as refused:
        settlements_pay(settlement_ids=[fine.pk, theirs.pk, draft.pk], by=people["cat"], paid_on=PAID_ON,
                        references={fine.pk: "CN-1", theirs.pk: "CN-2", draft.pk: "CN-3"})
    assert [pk for pk, _ in refused.value.problems] == [theirs.pk, draft.pk]
    assert "four eyes" in refused.value.problems[0][1] and "approve it before paying" in refused.value.problems[1][1]
    assert not Settlement.objects.filter(status="paid").exists()
    assert not LedgerEntry.objects.filter(kind="payout").exists()


def test_paying_many_with_a_number_each(people):
    a, b = approved("10.00", people["ann"]), approved("20.00", people["ann"])
    paid = settlements_pay(settlement_ids=(), references={b.pk: " CN-B ", a.pk: "CN-A"}, by=people["bob"],
                           paid_on=PAID_ON)
    assert [(p.id, p.payment_reference) for p in paid] == [(a.pk, "CN-A"), (b.pk, "CN-B")]


@pytest.mark.parametrize(("references", "message"), [
    ({0: "CN-1", 1: "CN-1"}, "each settlement needs its own"),
    ({0: "CN-1", 1: "  "}, "give the credit note number"),
    ({0: "CN-" + "9" * 80, 1: "CN-2"}, "longer than 80"),
])
def test_bad_credit_note_numbers_are_refused_before_anything_is_paid(people, references, message):
    ids = [approved("10.00", people["ann"]).pk, approved("20.00", people["ann"]).pk]
    with pytest.raises(SettlementError, match=message):
        settlements_pay(settlement_ids=(), references={ids[i]: ref for i, ref in references.items()},
                        by=people["bob"], paid_on=PAID_ON)
    assert not Settlement.objects.filter(status="paid").exists()


def test_paying_the_last_closing_of_an_expired_agreement_settles_it(people):
    agreement = AgreementFactory(start_month=datetime.date(2026, 1, 1), end_month=datetime.date(2026, 12, 1),
                                 status="expired")
    LedgerEntryFactory(agreement=agreement, period=datetime.date(2026, 12, 1), amount=D("30.00"))
    closing = Settlement.objects.create(agreement=agreement, period_start=datetime.date(2026, 1, 1),
                                        period_end=datetime.date(2026, 12, 1), accrued_total=D("30.00"),
                                        amount=D("30.00"))
    settlement_approve(settlement=closing, by=people["ann"])
    settlements_pay(settlement_ids=[closing.pk], by=people["bob"], paid_on=PAID_ON,
                    numbering=CreditNoteNumbering(pattern="CN-{n}"))
    assert RebateAgreement.objects.get(pk=agreement.pk).status == "settled"


# --- the customer statement ----------------------------------------------------------------------------


def test_the_statement_shows_the_customer_period_months_entries_amount_and_credit_note(people):
    agreement = AgreementFactory(number="AG-STMT", start_month=datetime.date(2026, 1, 1),
                                 end_month=datetime.date(2026, 12, 1), customer__name="=Northgate Supply")
    for month, amount in ((1, "2.50"), (2, "3.00"), (2, "0.25")):
        LedgerEntryFactory(agreement=agreement, period=datetime.date(2026, month, 1), amount=D(amount),
                           quantity=D("10"), eligible_amount=D("121.00"))
    LedgerEntryFactory(agreement=agreement, period=datetime.date(2026, 4, 1), amount=D("9.00"))  # not its months
    s = Settlement.objects.create(agreement=agreement, period_start=datetime.date(2026, 1, 1),
                                  period_end=datetime.date(2026, 3, 1), interim=True, accrued_total=D("5.75"),
                                  amount=D("5.75"))
    settlement_approve(settlement=s, by=people["ann"])
    settlement_pay(settlement=s, by=people["bob"], paid_on=PAID_ON, payment_reference="CN-2027-0001")
    made = statement_xlsx(Settlement.objects.select_related("agreement__customer").get(pk=s.pk))
    assert made.name == "statement-AG-STMT-2026-01-to-2026-03-interim.xlsx"
    sheet = openpyxl.load_workbook(BytesIO(made.content)).active
    cells = [[cell.value for cell in row] for row in sheet.iter_rows()]
    facts = {row[0]: row[1] for row in cells if row and row[0] and row[1] is not None}
    assert facts["Customer"].endswith("=Northgate Supply") and facts["Agreement"] == "AG-STMT"
    assert facts["Period"] == "2026-01 to 2026-03 (interim payment)"
    assert facts["Credit note"] == "CN-2027-0001" and facts["Paid on"] == "2027-01-20"
    assert facts["Amount of this credit note"] == 5.75
    month_rows = [row[:4] for row in cells if isinstance(row[0], datetime.datetime) and row[1] is not None
                  and not isinstance(row[1], str)]
    assert [(m.month, units, earned) for m, units, _, earned in month_rows[:2]] == [(1, 10, 2.5), (2, 20, 3.25)]
    entries = [row for row in cells if row[1] in ("Accrual", "Catch-up", "Adjustment")]
    assert sorted(row[4] for row in entries) == [0.25, 2.5, 3.0]
    # Nothing in the file runs as a formula, not even the name that starts with =.
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def pdf_strings(content: bytes) -> list[str]:
    """The text shown by a PDF of fpdf2's core fonts: the literal strings of its inflated content streams."""
    import re
    import zlib

    shown = []
    # Each stream is taken up to its "endstream" and inflated by a decompressor that stops where the zlib data
    # ends: the line break before "endstream" is never mistaken for the data's last byte (a compressed byte
    # that is a carriage return).
    for stream in re.finditer(rb"stream\r?\n(.*?)endstream", content, re.S):
        try:
            text = zlib.decompressobj().decompress(stream.group(1))
        except zlib.error:
            continue
        shown += [s.decode("latin-1") for s in re.findall(rb"\((.*?)\) Tj", text)]
    return shown


def test_the_pdf_statement_shows_the_same_facts_figures_and_months(people):
    agreement = AgreementFactory(number="AG-PDF", customer__name="Łódź Żelazo – Zoë",
                                 start_month=datetime.date(2026, 1, 1), end_month=datetime.date(2026, 12, 1))
    s = settlement("934.50", agreement=agreement, month=2)
    settlement_approve(settlement=s, by=people["ann"])
    settlements_pay(settlement_ids=[s.pk], by=people["bob"], paid_on=PAID_ON,
                    numbering=CreditNoteNumbering(pattern="CN-2027-{n:04d}", start=1))
    from rebates.exports.settlement_statement import statement_pdf

    made = statement_pdf(Settlement.objects.select_related("agreement__customer").get(pk=s.pk))
    assert made.name == "statement-AG-PDF-2026-02-to-2026-02-interim.pdf" and made.content.startswith(b"%PDF-")
    shown = pdf_strings(made.content)
    assert "Rebate statement of Lódz Zelazo - Zoë" in shown  # Latin-1 accents kept, the rest reduced
    assert {"AG-PDF", "CN-2027-0001", "2027-01-20", "2026-02", "$934.50", "Amount of this credit note"} <= set(shown)
