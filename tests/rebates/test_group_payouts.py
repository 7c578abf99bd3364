"""A split buying-group settlement pays each member its part (docs/buying-groups.md): the worked example settled and
paid gives three parts of $80, $60 and $100, each with its own credit note, summing to the $240.00 the ledger pays
out once; interim payments and the closing add up to each member's share of the period; a member that left counts
its membership months; a member's manager sees only its member's part; paid ten times at once, paid once."""

import datetime
import json
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from customers import roles
from customers.models import GroupMembership
from rebates.groups import member_shares, settlement_parts
from rebates.models import AgreementBalance, LedgerEntry, RebateAgreement, Settlement, SettlementPart
from rebates.services import settlement_approve, settlement_pay, settlements_pay
from rebates.services.settlement import (
    CreditNoteNumbering,
    SettlementConflict,
    SettlementError,
    SettlementsNotPayable,
    settlement_close,
)
from tests.api.conftest import client_for
from tests.excel.readback import values, workbook
from tests.factories import PASSWORD, AgreementFactory, CustomerFactory, PerUnitRuleFactory, UserFactory
from tests.rebates.test_buying_groups import (
    accrue,
    buy,
    month,
    scenario,  # noqa: F401  (the worked example, a fixture)
)

pytestmark = [pytest.mark.django_db, pytest.mark.today("2026-07-15")]

D = Decimal
PAID_ON = datetime.date(2026, 4, 10)


@pytest.fixture
def finance(db):
    return {"payer": UserFactory(username="fin.payer", role=roles.FINANCE),
            "approver": UserFactory(username="fin.approver", role=roles.FINANCE)}


@pytest.fixture
def example(scenario, finance):  # noqa: F811
    return {**scenario, **finance}


def closed(example, through=None):
    """The quarter's settlement (or an interim payment through `through`), approved by the approver."""
    accrue(full=True)
    settlement = settlement_close(agreement=example["agreement"], period_first=month(1), by=example["approver"],
                                  interim_through=through)
    return settlement_approve(settlement=settlement, by=example["approver"])


def parts(settlement):
    return [(p.member.code, p.amount, p.payment_reference)
            for p in SettlementPart.objects.filter(settlement=settlement).select_related("member")
            .order_by("member__code")]


def test_the_worked_example_paid_gives_three_members_their_own_credit_notes_summing_to_240(example):
    settlement = closed(example)
    assert settlement.amount == D("240.00")
    settlement_pay(settlement=settlement, by=example["payer"], paid_on=PAID_ON,
                   numbering=CreditNoteNumbering(pattern="CN-{n:03d}", start=7))
    assert parts(settlement) == [("M-1", D("80.00"), "CN-007"), ("M-2", D("60.00"), "CN-008"),
                                 ("M-3", D("100.00"), "CN-009")]
    assert sum(amount for _, amount, _ in parts(settlement)) == D("240.00")
    # One payout of the whole for the agreement: the ledger balances to zero, paid never above accrued.
    (payout,) = LedgerEntry.objects.filter(agreement=example["agreement"], kind="payout")
    assert payout.amount == D("-240.00") and payout.settlement_id == settlement.pk
    balance = AgreementBalance.objects.get(agreement=example["agreement"])
    assert (balance.accrued, balance.paid, balance.unpaid) == (D("240.00"), D("240.00"), D("0.00"))
    settlement.refresh_from_db()
    assert (settlement.status, settlement.payment_reference) == ("paid", "CN-007")


def test_a_credit_note_number_per_member_is_taken_as_given(example):
    settlement = closed(example)
    settlement_pay(settlement=settlement, by=example["payer"], paid_on=PAID_ON,
                   member_references={"M-3": "CN-C", "M-1": "CN-A", "M-2": "CN-B"})
    assert parts(settlement) == [("M-1", D("80.00"), "CN-A"), ("M-2", D("60.00"), "CN-B"),
                                 ("M-3", D("100.00"), "CN-C")]


@pytest.mark.parametrize("given, words", [
    ({"payment_reference": "CN-1"}, "give a credit note number for each member"),
    ({"member_references": {"M-1": "CN-A", "M-2": "CN-B"}}, "missing: M-3"),
    ({"member_references": {"M-1": "CN-A", "M-2": "CN-B", "M-3": "CN-C", "M-9": "CN-D"}}, "none for M-9"),
    ({"member_references": {"M-1": "CN-A", "M-2": "CN-A", "M-3": "CN-C"}}, "each member needs its own"),
])
def test_a_split_settlement_refuses_credit_notes_that_do_not_name_each_member_once(example, given, words):
    settlement = closed(example)
    with pytest.raises(SettlementError, match=words):
        settlement_pay(settlement=settlement, by=example["payer"], paid_on=PAID_ON, **given)
    settlement.refresh_from_db()
    assert settlement.status == "approved"
    assert not LedgerEntry.objects.filter(kind="payout").exists() and not SettlementPart.objects.exists()


def test_a_member_credit_note_already_used_is_refused_and_nothing_is_paid(example):
    first = closed(example)
    settlement_pay(settlement=first, by=example["payer"], paid_on=PAID_ON,
                   member_references={"M-1": "CN-A", "M-2": "CN-B", "M-3": "CN-C"})
    other = AgreementFactory(customer=example["group"], number="AG-GRP-2", products=[], start_month=month(4),
                             end_month=month(6), settlement_frequency="quarterly", group_payout="split")
    other.product_lines.set(example["agreement"].product_lines.all())
    PerUnitRuleFactory(agreement=other)
    second = Settlement.objects.create(agreement=other, period_start=month(4), period_end=month(6),
                                       accrued_total=D("10.00"), amount=D("10.00"), status="approved",
                                       approved_by=example["approver"])
    buy(example["members"][0], example["product"], 4, 10)
    with pytest.raises(SettlementConflict, match="CN-B is already a member's part of settlement"):
        settlement_pay(settlement=second, by=example["payer"], paid_on=PAID_ON, member_references={"M-1": "CN-B"})
    assert not SettlementPart.objects.filter(settlement=second).exists()


def test_interim_payments_and_the_closing_add_up_to_each_member_share_of_the_quarter(example):
    interim = closed(example, through=month(2))
    assert interim.amount == D("70.00")
    settlement_pay(settlement=interim, by=example["payer"], paid_on=PAID_ON,
                   numbering=CreditNoteNumbering(pattern="I-{n}"))
    assert parts(interim) == [("M-1", D("40.00"), "I-1"), ("M-2", D("30.00"), "I-2")]
    closing = closed(example)
    assert closing.amount == D("170.00")
    # Before it is paid, the closing shows what paying it would give.
    assert [(p.member, p.amount) for p in settlement_parts(closing)] == [
        ("M-1", D("40.00")), ("M-2", D("30.00")), ("M-3", D("100.00"))]
    settlement_pay(settlement=closing, by=example["payer"], paid_on=PAID_ON,
                   numbering=CreditNoteNumbering(pattern="C-{n}"))
    assert parts(closing) == [("M-1", D("40.00"), "C-1"), ("M-2", D("30.00"), "C-2"), ("M-3", D("100.00"), "C-3")]
    totals = {}
    for code, amount, _ in parts(interim) + parts(closing):
        totals[code] = totals.get(code, D(0)) + amount
    assert totals == {"M-1": D("80.00"), "M-2": D("60.00"), "M-3": D("100.00")}
    assert LedgerEntry.objects.filter(kind="payout").count() == 2


def test_a_member_that_left_during_the_quarter_is_paid_on_its_months_as_a_member(example):
    # M-2 leaves at the start of March; what it buys in March is not the group's.
    GroupMembership.objects.filter(member=example["members"][1]).update(ended=month(3))
    buy(example["members"][1], example["product"], 3, 900)
    settlement = closed(example)
    assert settlement.amount == D("240.00")
    settlement_pay(settlement=settlement, by=example["payer"], paid_on=PAID_ON,
                   numbering=CreditNoteNumbering(pattern="CN-{n}"))
    assert parts(settlement) == [("M-1", D("80.00"), "CN-1"), ("M-2", D("60.00"), "CN-2"),
                                 ("M-3", D("100.00"), "CN-3")]


def test_paid_to_the_group_the_settlement_stays_one_payment_with_one_credit_note(example):
    RebateAgreement.objects.filter(pk=example["agreement"].pk).update(group_payout="group")
    settlement = closed(example)
    assert settlement_parts(settlement) == []
    settlement_pay(settlement=settlement, by=example["payer"], paid_on=PAID_ON, payment_reference="CN-G")
    assert not SettlementPart.objects.exists()
    assert LedgerEntry.objects.get(kind="payout").amount == D("-240.00")
    with pytest.raises(SettlementConflict):
        settlement_pay(settlement=settlement, by=example["payer"], paid_on=PAID_ON, payment_reference="CN-H")


def test_paying_many_numbers_each_member_of_a_split_settlement_and_answers_the_same_when_sent_again(example):
    split = closed(example)
    plain_customer = CustomerFactory(code="C-PLAIN")
    plain_agreement = AgreementFactory(customer=plain_customer, number="AG-PLAIN")
    plain = Settlement.objects.create(agreement=plain_agreement, period_start=plain_agreement.start_month,
                                      period_end=plain_agreement.start_month, accrued_total=D("5.00"),
                                      amount=D("5.00"), status="approved", approved_by=example["approver"])
    LedgerEntry.objects.create(agreement=plain_agreement, period=plain_agreement.start_month, kind="accrual",
                               amount=D("5.00"), booking_key="test:plain")
    numbering = CreditNoteNumbering(pattern="CN-{n}", start=1)
    assert split.pk < plain.pk  # numbered in ascending id order: the split settlement's members first
    paid = settlements_pay(settlement_ids=[plain.pk, split.pk], by=example["payer"], paid_on=PAID_ON,
                           numbering=numbering)
    again = settlements_pay(settlement_ids=[plain.pk, split.pk], by=example["payer"], paid_on=PAID_ON,
                            numbering=numbering)
    assert paid == again
    assert parts(split) == [("M-1", D("80.00"), "CN-1"), ("M-2", D("60.00"), "CN-2"), ("M-3", D("100.00"), "CN-3")]
    by_id = {payment.id: payment for payment in paid}
    assert by_id[plain.pk].payment_reference == "CN-4" and by_id[plain.pk].parts == ()
    assert by_id[split.pk].parts == (("M-1", D("80.00"), "CN-1"), ("M-2", D("60.00"), "CN-2"),
                                     ("M-3", D("100.00"), "CN-3"))
    assert LedgerEntry.objects.filter(kind="payout").count() == 2 and SettlementPart.objects.count() == 3


def test_paying_many_with_a_number_each_refuses_a_split_settlement_and_pays_nothing(example):
    split = closed(example)
    with pytest.raises(SettlementsNotPayable, match="split among the members"):
        settlements_pay(settlement_ids=[split.pk], by=example["payer"], paid_on=PAID_ON,
                        references={split.pk: "CN-1"})
    assert not LedgerEntry.objects.filter(kind="payout").exists()


def test_the_member_sees_its_own_paid_part_with_its_credit_note(example):
    settlement = closed(example)
    settlement_pay(settlement=settlement, by=example["payer"], paid_on=PAID_ON,
                   numbering=CreditNoteNumbering(pattern="CN-{n}"))
    (share,) = member_shares(example["members"][1], as_of=datetime.date(2026, 3, 31))
    assert share.amount == D("60.00")
    assert [(p.amount, p.payment_reference, p.paid_on) for p in share.payments] == [(D("60.00"), "CN-2", PAID_ON)]


# --- API and pages ------------------------------------------------------------------------------------------


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_the_api_pays_each_member_and_shows_the_parts_to_finance_and_only_its_own_to_a_member_manager(example):
    settlement = closed(example)
    payer = client_for(example["payer"])
    url = f"/api/v1/settlements/{settlement.pk}/pay/"
    shown = payer.get(f"/api/v1/settlements/{settlement.pk}/").json()
    assert [(p["member"], p["share"], p["amount"], p["payment_reference"]) for p in shown["parts"]] == [
        ("M-1", "1/3", "80.00", ""), ("M-2", "1/4", "60.00", ""), ("M-3", "5/12", "100.00", "")]
    refused = post(payer, url, {"payment_reference": "CN-1"})
    assert refused.status_code == 400 and "M-1, M-2, M-3" in refused.json()["message"]
    assert refused.json()["details"][0]["field"] == "payment_reference"
    both = post(payer, url, {"payment_reference": "CN-1", "pattern": "CN-{n}"})
    assert both.status_code == 400
    paid = post(payer, url, {"pattern": "CN-2026-{n:04d}", "start": 41, "paid_on": "2026-04-10"})
    assert paid.status_code == 200, paid.content
    body = paid.json()
    assert body["status"] == "paid" and body["payment_reference"] == "CN-2026-0041"
    assert [(p["member"], p["amount"], p["payment_reference"]) for p in body["parts"]] == [
        ("M-1", "80.00", "CN-2026-0041"), ("M-2", "60.00", "CN-2026-0042"), ("M-3", "100.00", "CN-2026-0043")]
    assert post(payer, url, {"pattern": "CN-2026-{n:04d}", "start": 41}).status_code == 409
    member_manager = client_for(example["am_member"])
    assert member_manager.get(f"/api/v1/settlements/{settlement.pk}/").status_code == 404
    shares = member_manager.get("/api/v1/customers/M-2/group-shares/?as_of=2026-03-31")
    assert shares.status_code == 200
    (share,) = shares.json()
    assert share["payments"] == [{"amount": "60.00", "payment_reference": "CN-2026-0042", "paid_on": "2026-04-10",
                                  "through": "2026-03", "interim": False}]
    assert "CN-2026-0041" not in shares.content.decode() and "M-1" not in shares.content.decode()


def _pay_in_thread(user, url, answers, i, start):
    try:
        start.wait()
        answers[i] = post(client_for(user), url, {"member_references": {"M-1": f"A-{i}", "M-2": f"B-{i}",
                                                                        "M-3": f"C-{i}"}})
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_split_settlement_paid_ten_times_at_once_pays_one_set_of_parts(example):
    settlement = closed(example)
    url = f"/api/v1/settlements/{settlement.pk}/pay/"
    answers, start = [None] * 10, threading.Barrier(10)
    threads = [threading.Thread(target=_pay_in_thread, args=(example["payer"], url, answers, i, start))
               for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answer.status_code for answer in answers) == [200] + [409] * 9
    assert LedgerEntry.objects.filter(kind="payout").count() == 1
    assert SettlementPart.objects.count() == 3
    assert sum(p.amount for p in SettlementPart.objects.all()) == D("240.00")


def test_the_pages_pay_each_member_and_show_the_parts_on_the_settlement_statement_and_member_page(example, client):
    settlement = closed(example)
    client.login(username="fin.payer", password=PASSWORD)
    form = client.get(reverse("settlement-pay", args=[settlement.pk])).content.decode()
    assert 'name="member-M-1"' in form and 'name="member-M-3"' in form
    data = {"paid_on": "2026-04-10", "member-M-1": "CN-A", "member-M-2": "CN-B", "member-M-3": "CN-C"}
    confirming = client.post(reverse("settlement-pay", args=[settlement.pk]), data)
    assert confirming.status_code == 200 and "CN-C" in confirming.content.decode()
    done = client.post(reverse("settlement-pay", args=[settlement.pk]), {**data, "confirmed": "True"})
    assert done.status_code == 302
    assert parts(settlement) == [("M-1", D("80.00"), "CN-A"), ("M-2", D("60.00"), "CN-B"),
                                 ("M-3", D("100.00"), "CN-C")]
    page = client.get(reverse("settlement-detail", args=[settlement.pk])).content.decode()
    table = page[page.index('id="settlement-parts"'):]
    table = table[:table.index("</table>")]
    assert "M-2" in table and "1/4" in table and "$60.00" in table and "CN-B" in table
    rows = values(workbook(client.get(reverse("settlement-statement", args=[settlement.pk])).content).active)
    listed = [(row[0], D(str(row[3])), row[4]) for row in rows if row and row[0] in ("M-1", "M-2", "M-3")]
    assert listed == [("M-1", D("80.00"), "CN-A"), ("M-2", D("60.00"), "CN-B"), ("M-3", D("100.00"), "CN-C")]
    pdf = client.get(reverse("settlement-statement-pdf", args=[settlement.pk]))
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
    client.logout()
    client.login(username="am.member", password=PASSWORD)
    assert client.get(reverse("settlement-detail", args=[settlement.pk])).status_code == 404
    member_page = client.get(reverse("customer-detail", args=["M-2"])).content.decode()
    shares = member_page[member_page.index('id="group-shares"'):]
    shares = shares[:shares.index("</table>")]
    assert "CN-B" in shares and "CN-A" not in member_page and "CN-C" not in member_page


def test_a_single_number_on_the_pay_page_for_a_split_settlement_is_refused_naming_the_members(example, client):
    settlement = closed(example)
    client.login(username="fin.payer", password=PASSWORD)
    response = client.post(reverse("settlement-pay", args=[settlement.pk]),
                           {"paid_on": "2026-04-10", "member-M-1": "CN-A", "confirmed": "True"})
    assert response.status_code == 400
    assert "M-2" in response.content.decode()
    assert not SettlementPart.objects.exists()


def test_the_pay_many_api_numbers_each_member_by_the_pattern_and_refuses_a_number_per_settlement(example):
    settlement = closed(example)
    payer = client_for(example["payer"])
    refused = post(payer, "/api/v1/settlements/pay/", {"payments": [{"id": settlement.pk,
                                                                       "payment_reference": "CN-1"}]})
    assert refused.status_code == 409 and "split among the members" in refused.json()["message"]
    paid = post(payer, "/api/v1/settlements/pay/", {"ids": [settlement.pk], "pattern": "CN-{n}", "start": 5,
                                                    "paid_on": "2026-04-10"})
    assert paid.status_code == 200, paid.content
    (payment,) = paid.json()["paid"]
    assert payment["payment_reference"] == "CN-5" and payment["amount"] == "240.00"
    assert payment["parts"] == [{"member": "M-1", "amount": "80.00", "payment_reference": "CN-5"},
                                {"member": "M-2", "amount": "60.00", "payment_reference": "CN-6"},
                                {"member": "M-3", "amount": "100.00", "payment_reference": "CN-7"}]
