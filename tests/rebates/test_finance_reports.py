"""The GL journal and the aged liability on a hand-computed book (docs/finance-reports.md).

The book, aged on 2026-12-04:
- A (program "Widgets", accounts 6100/2350/1200, cost centre "CC-7"): earned $100.00 in November 2025, $50.00 in
  March 2026, $20.00 in September 2026 and a credit note's adjustment of -$5.00 in September 2026; paid $120.00
  in September 2026. Unpaid: $45.00, which sits in the newest months that earned it: $15.00 of September
  (66 days old), $30.00 of March (248 days); November 2025's $100.00 was paid first.
- B (program "Bolts", accounts 6200/2360/1210): earned $40.00 in May 2026, forfeited in June 2026. Unpaid: 0.
- C (program "Widgets", another manager's customer): earned $10.00 in November 2026 (4 days old).
"""

from datetime import date, datetime
from decimal import Decimal as D

import pytest
from django.db import connection
from django.db.models import ProtectedError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from customers import roles
from rebates.aging import aged_liability, bucket_totals
from rebates.journal import CREDIT_NOTES, EXPENSE, LIABILITY, journal, postings
from rebates.models import LedgerEntry, RebateAgreement, RebateProgram, RebateRule, Settlement
from rebates.services import accrual_run_perform, accrual_run_start
from tests.excel import readback
from tests.factories import (
    AgreementFactory,
    CustomerFactory,
    LedgerEntryFactory,
    ProductFactory,
    ProgramFactory,
    PurchaseLineFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 12, 4)


def entry(agreement, period, kind, amount, settlement=None):
    return LedgerEntryFactory(agreement=agreement, period=period, kind=kind, amount=D(amount), settlement=settlement)


@pytest.fixture
def book():
    north, south = UserFactory(username="am.n", role=roles.ACCOUNT_MANAGER), UserFactory(
        username="am.s", role=roles.ACCOUNT_MANAGER)
    widgets = ProgramFactory(code="widgets", name="Widgets", gl_expense_account="6100", gl_liability_account="2350",
                             gl_credit_note_account="1200", cost_centre="CC-7")
    bolts = ProgramFactory(code="bolts", name="Bolts", gl_expense_account="6200", gl_liability_account="2360",
                           gl_credit_note_account="1210")
    a = AgreementFactory(number="AG-A", program=widgets, customer=CustomerFactory(code="CA", account_manager=north))
    b = AgreementFactory(number="AG-B", program=bolts, customer=CustomerFactory(code="CB", account_manager=north))
    c = AgreementFactory(number="AG-C", program=widgets, customer=CustomerFactory(code="CC", account_manager=south))
    entry(a, date(2025, 11, 1), "accrual", "100.00")
    entry(a, date(2026, 3, 1), "accrual", "50.00")
    entry(a, date(2026, 9, 1), "accrual", "20.00")
    entry(a, date(2026, 9, 1), "adjustment", "-5.00")
    paid = Settlement.objects.create(agreement=a, period_start=date(2025, 11, 1), period_end=date(2026, 9, 1),
                                     accrued_total=D("120.00"), amount=D("120.00"))
    entry(a, date(2026, 9, 1), "payout", "-120.00", settlement=paid)
    entry(b, date(2026, 5, 1), "accrual", "40.00")
    entry(b, date(2026, 6, 1), "forfeiture", "-40.00")
    entry(c, date(2026, 11, 1), "accrual", "10.00")
    finance = UserFactory(username="fin", role=roles.FINANCE)
    return {"finance": finance, "north": north, "south": south}


# --- posting rules (pure) ---------------------------------------------------------------------------------


def test_earned_rebate_debits_expense_and_credits_the_liability():
    debit, credit = postings("accrual", D("2.50"))
    assert (debit.role, debit.debit, credit.role, credit.credit) == (EXPENSE, D("2.50"), LIABILITY, D("2.50"))


def test_a_negative_adjustment_posts_the_other_way_round():
    debit, credit = postings("adjustment", D("-0.50"))
    assert (debit.role, debit.debit, credit.role, credit.credit) == (LIABILITY, D("0.50"), EXPENSE, D("0.50"))


def test_a_payout_debits_the_liability_and_credits_credit_notes():
    debit, credit = postings("payout", D("-30.00"))
    assert (debit.role, debit.debit, credit.role, credit.credit) == (LIABILITY, D("30.00"), CREDIT_NOTES, D("30.00"))


def test_a_forfeiture_debits_the_liability_and_reverses_the_expense():
    debit, credit = postings("forfeiture", D("-15.00"))
    assert (debit.role, debit.debit, credit.role, credit.credit) == (LIABILITY, D("15.00"), EXPENSE, D("15.00"))


KINDS = st.sampled_from(["accrual", "catch_up", "adjustment", "payout", "forfeiture"])
CENTS = st.integers(min_value=-10**9, max_value=10**9).map(lambda cents: D(cents) / 100)


@given(st.lists(st.tuples(KINDS, CENTS), max_size=40))
def test_any_entries_post_balanced_and_the_liability_moves_by_their_sum(entries):
    entries = [(kind, -abs(amount) if kind in ("payout", "forfeiture") else amount) for kind, amount in entries]
    lines = [posting for kind, amount in entries for posting in postings(kind, amount)]
    assert sum(p.debit for p in lines) == sum(p.credit for p in lines)
    assert sum(p.credit - p.debit for p in lines if p.role == LIABILITY) == sum(amount for _, amount in entries)
    assert all(p.debit >= 0 and p.credit >= 0 for p in lines)


# --- the journal ------------------------------------------------------------------------------------------


def test_septembers_journal_posts_each_kind_on_its_programs_accounts_balanced_and_reconciled(book):
    made = journal(user=book["finance"], first=date(2026, 9, 1), last=date(2026, 9, 1))
    lines = {(line.account, line.kind, line.cost_centre): (line.debit, line.credit, line.entries)
             for line in made.lines}
    assert lines == {
        ("6100", "accrual", "CC-7"): (D("20.00"), D("0.00"), 1),
        ("2350", "accrual", "CC-7"): (D("0.00"), D("20.00"), 1),
        ("2350", "adjustment", "CC-7"): (D("5.00"), D("0.00"), 1),
        ("6100", "adjustment", "CC-7"): (D("0.00"), D("5.00"), 1),
        ("2350", "payout", "CC-7"): (D("120.00"), D("0.00"), 1),
        ("1200", "payout", "CC-7"): (D("0.00"), D("120.00"), 1),
    }
    assert (made.debit, made.credit, made.balanced) == (D("145.00"), D("145.00"), True)
    # The ledger's September: 20.00 - 5.00 - 120.00 = -105.00; the liability: 20.00 - 5.00 - 120.00 credits net.
    assert (made.ledger_total, made.liability_change, made.reconciles) == (D("-105.00"), D("-105.00"), True)


def test_the_whole_books_journal_reconciles_to_the_ledger_to_the_cent(book):
    made = journal(user=book["finance"], first=date(2025, 1, 1), last=date(2026, 12, 1))
    ledger = sum(LedgerEntry.objects.values_list("amount", flat=True), D("0"))
    assert made.ledger_total == ledger == D("55.00")
    assert made.balanced and made.reconciles
    forfeiture = [line for line in made.lines if line.kind == "forfeiture"]
    assert {(line.account, line.debit, line.credit) for line in forfeiture} == {
        ("2360", D("40.00"), D("0.00")), ("6200", D("0.00"), D("40.00"))}


def test_a_month_of_entries_above_and_below_zero_posts_each_part_its_own_way_with_its_count(book):
    a = LedgerEntry.objects.get(kind="accrual", period=date(2026, 9, 1)).agreement
    entry(a, date(2026, 9, 1), "catch_up", "2.00")
    entry(a, date(2026, 9, 1), "catch_up", "-0.75")
    entry(a, date(2026, 9, 1), "catch_up", "-0.25")
    made = journal(user=book["finance"], first=date(2026, 9, 1), last=date(2026, 9, 1))
    catch_up = {(line.account, line.debit, line.credit, line.entries) for line in made.lines
                if line.kind == "catch_up"}
    # Expense debit 2.00 and credit 1.00 (the two below zero), the liability the other way round: one line per
    # account, each summing the three entries.
    assert catch_up == {("6100", D("2.00"), D("1.00"), 3), ("2350", D("1.00"), D("2.00"), 3)}
    assert made.ledger_total == D("-104.00") and made.balanced and made.reconciles


def test_each_entry_carries_its_agreements_program_and_currency_as_booked(book):
    a = LedgerEntry.objects.get(kind="accrual", period=date(2026, 9, 1)).agreement
    assert set(LedgerEntry.objects.filter(agreement=a).values_list("program__code", "currency")) == {
        ("widgets", a.customer.currency)}


def test_an_agreement_moved_to_another_program_posts_its_later_entries_there_and_keeps_posted_months(book):
    a = LedgerEntry.objects.get(kind="accrual", period=date(2026, 9, 1)).agreement
    RebateAgreement.objects.filter(pk=a.pk).update(program=RebateProgram.objects.get(code="bolts"))
    entry(a, date(2026, 10, 1), "accrual", "7.00")
    made = journal(user=book["finance"], first=date(2026, 9, 1), last=date(2026, 10, 1))
    accruals = {(line.month, line.account, line.cost_centre, line.debit, line.credit) for line in made.lines
                if line.kind == "accrual"}
    # September was posted on Widgets' accounts and stays there; October's entry posts on Bolts'.
    assert accruals == {(date(2026, 9, 1), "6100", "CC-7", D("20.00"), D("0.00")),
                        (date(2026, 9, 1), "2350", "CC-7", D("0.00"), D("20.00")),
                        (date(2026, 10, 1), "6200", "", D("7.00"), D("0.00")),
                        (date(2026, 10, 1), "2360", "", D("0.00"), D("7.00"))}
    assert (made.ledger_total, made.liability_change) == (D("-98.00"), D("-98.00"))
    assert made.balanced and made.reconciles


def test_a_program_that_only_entries_name_cannot_be_deleted(book):
    retired = ProgramFactory(code="retired", name="Retired")
    moved = AgreementFactory(number="AG-MOVED", program=retired)
    entry(moved, date(2026, 9, 1), "accrual", "3.00")
    RebateAgreement.objects.filter(pk=moved.pk).update(program=RebateProgram.objects.get(code="bolts"))
    with pytest.raises(ProtectedError):
        retired.delete()


def test_an_entry_booked_without_its_program_posts_through_its_agreement_in_the_same_line(book):
    a = LedgerEntry.objects.get(kind="accrual", period=date(2026, 9, 1)).agreement
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO rebates_ledgerentry (agreement_id, period, concerns, kind, quantity, "
                       "eligible_amount, amount, booking_key, booked_at) VALUES (%s, %s, %s, 'accrual', 0, 0, "
                       "1.25, 'raw:1', %s)", [a.pk, date(2026, 9, 1), date(2026, 9, 1), datetime(2026, 10, 2, 6)])
    assert LedgerEntry.objects.get(booking_key="raw:1").program_id is None
    made = journal(user=book["finance"], first=date(2026, 9, 1), last=date(2026, 9, 1))
    accruals = {(line.account, line.debit, line.credit, line.entries) for line in made.lines if line.kind == "accrual"}
    # Summed with the entry that carries its program: one line per account, each of both entries.
    assert accruals == {("6100", D("21.25"), D("0.00"), 2), ("2350", D("0.00"), D("21.25"), 2)}
    assert made.ledger_total == D("-103.75") and made.balanced and made.reconciles


def test_the_journal_page_shows_the_lines_and_says_it_reconciles(book, client):
    client.force_login(book["finance"])
    response = client.get(reverse("journal"), {"month_from": "2026-09"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "September 2026" in page and "reconciled to the cent" in page and "balanced" in page
    assert page.count("<tr><td>2026-09</td>") == 6


def test_the_journal_downloads_as_a_sheet_named_for_its_month(book, client):
    client.force_login(book["finance"])
    response = client.get(reverse("journal"), {"month_from": "2026-09", "export": "csv"})
    assert response["Content-Disposition"] == 'attachment; filename="journal-2026-09.csv"'
    rows = response.content.decode("utf-8-sig").splitlines()
    assert rows[0] == ("Month,Account,Account role,Cost centre,Entries of,Debit,Credit,Ledger entries,Currency,"
                       "Debit in USD,Credit in USD")
    assert "2026-09,1200,Credit notes,CC-7,Payout,0.00,120.00,1,USD,0.00,120.00" in rows
    assert rows[-1].endswith("145.00,145.00,,USD,145.00,145.00")  # the total says its currency


def test_the_journal_downloads_as_a_workbook_of_the_same_lines_balanced(book, client):
    client.force_login(book["finance"])
    response = client.get(reverse("journal"), {"month_from": "2026-09", "export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="journal-2026-09.xlsx"'
    sheet = readback.workbook(response.content).active
    header, *lines, total = readback.values(sheet)
    assert header == ["Month", "Account", "Account role", "Cost centre", "Entries of", "Debit", "Credit",
                      "Ledger entries", "Currency", "Debit in USD", "Credit in USD"]

    def as_text(row):
        month, *texts, debit, credit, entries, currency, usd_debit, usd_credit = row
        return [f"{month:%Y-%m}", *(text or "" for text in texts), *(f"{readback.money(v)}" for v in (debit, credit)),
                str(int(entries)), currency, *(f"{readback.money(v)}" for v in (usd_debit, usd_credit))]

    # The same lines as the .csv of the month, typed: months as dates, amounts and counts as numbers.
    csv_lines = readback.csv_rows(client.get(reverse("journal"), {"month_from": "2026-09", "export": "csv"}).content)
    assert [as_text(line) for line in lines] == csv_lines[1:-1] and len(lines) == 6
    assert all(isinstance(line[0], datetime) and isinstance(line[5], int | float) for line in lines)
    assert ["2026-09", "1200", "Credit notes", "CC-7", "Payout", "0.00", "120.00", "1", "USD", "0.00",
            "120.00"] in [as_text(line) for line in lines]
    debits = sum(readback.money(line[5]) for line in lines)
    credits = sum(readback.money(line[6]) for line in lines)
    assert debits == credits == D("145.00")
    # The totals row: SUBTOTALs over the lines that read as the balanced figures.
    assert total[0] == "Total" and [readback.money(total[col]) for col in (5, 6, 9, 10)] == [D("145.00")] * 4
    formulas = readback.subtotals(response.content)
    assert len(formulas) == 4
    for cell, formula in formulas.items():
        letter = cell.split("!")[1].rstrip("0123456789")
        assert cell.endswith(f"!{letter}8") and formula.endswith(f",{letter}2:{letter}7)")


def test_the_journal_in_the_api_balances_and_names_a_bad_month(book, client):
    client.force_login(book["finance"])
    answer = client.get("/api/v1/journals/", {"month_from": "2026-09"}).json()
    assert (answer["debit"], answer["credit"], answer["ledger_total"], answer["reconciles"]) == (
        "145.00", "145.00", "-105.00", True)
    refused = client.get("/api/v1/journals/", {"month_from": "2026-13"})
    assert refused.status_code == 400 and refused.json()["details"][0]["field"] == "month_from"
    backwards = client.get("/api/v1/journals/", {"month_from": "2026-09", "month_to": "2026-08"})
    assert backwards.status_code == 400 and "month_to" in backwards.json()["message"]


@pytest.mark.today("2026-12-04")
def test_the_journal_defaults_to_the_last_complete_month(book, client):
    client.force_login(book["finance"])
    answer = client.get("/api/v1/journals/").json()
    assert (answer["month_from"], answer["month_to"], answer["ledger_total"]) == ("2026-11", "2026-11", "10.00")


# --- the aged liability -----------------------------------------------------------------------------------


def test_the_unpaid_rebate_sits_in_the_newest_months_that_earned_it(book):
    rows = {row.code: (row.buckets, row.total) for row in
            aged_liability(user=book["finance"], as_of=AS_OF, group="customer").rows}
    assert rows == {
        "CA": ((D("15.00"), D("0.00"), D("30.00"), D("0.00")), D("45.00")),
        "CC": ((D("10.00"), D("0.00"), D("0.00"), D("0.00")), D("10.00")),
    }


def test_a_balance_nobody_paid_ages_past_a_year(book):
    CustomerFactory(code="CD")
    old = AgreementFactory(number="AG-D", customer=CustomerFactory(code="CE"))
    entry(old, date(2025, 10, 1), "accrual", "7.00")  # ends 2025-10-31: 399 days before 2026-12-04
    rows = {row.code: row.buckets for row in aged_liability(user=book["finance"], as_of=AS_OF).rows}
    assert rows["CE"] == (D("0.00"), D("0.00"), D("0.00"), D("7.00"))


def test_a_balance_below_zero_shows_whole_in_the_youngest_bucket(book):
    owes = AgreementFactory(number="AG-D", customer=CustomerFactory(code="CD"))
    entry(owes, date(2026, 6, 1), "accrual", "30.00")
    entry(owes, date(2026, 10, 1), "adjustment", "-50.00")  # a credit note took back more than was earned
    rows = {row.code: (row.buckets, row.total) for row in aged_liability(user=book["finance"], as_of=AS_OF).rows}
    assert rows["CD"] == ((D("-20.00"), D("0.00"), D("0.00"), D("0.00")), D("-20.00"))


def test_months_that_net_below_zero_hold_nothing_and_older_months_fill_up(book):
    netted = AgreementFactory(number="AG-E", customer=CustomerFactory(code="CE"))
    entry(netted, date(2025, 1, 1), "accrual", "100.00")  # over 365 days
    entry(netted, date(2026, 7, 1), "accrual", "40.00")  # 91-180 days
    entry(netted, date(2026, 10, 1), "accrual", "10.00")  # 0-90 days, netted below zero by the credit note
    entry(netted, date(2026, 10, 1), "adjustment", "-70.00")
    rows = {row.code: (row.buckets, row.total) for row in aged_liability(user=book["finance"], as_of=AS_OF).rows}
    # Unpaid 80.00: nothing in 0-90 (its months netted -60.00), 40.00 of July, the other 40.00 of January 2025.
    assert rows["CE"] == ((D("0.00"), D("40.00"), D("0.00"), D("40.00")), D("80.00"))


def test_an_account_managers_aged_liability_holds_only_their_customers(book):
    assert [(row.code, row.total) for row in aged_liability(user=book["north"], as_of=AS_OF).rows] == [
        ("CA", D("45.00"))]
    assert [(row.code, row.total) for row in aged_liability(user=book["south"], as_of=AS_OF, group="program").rows] == [
        ("widgets", D("10.00"))]


def test_aged_by_program_and_by_manager_add_up_to_the_unpaid_liability(book):
    by_program = aged_liability(user=book["finance"], as_of=AS_OF, group="program").rows
    by_manager = aged_liability(user=book["finance"], as_of=AS_OF, group="manager").rows
    assert {row.code: row.total for row in by_program} == {"widgets": D("55.00")}
    assert {row.code: row.total for row in by_manager} == {"am.n": D("45.00"), "am.s": D("10.00")}
    assert bucket_totals(by_program) == bucket_totals(by_manager) == (
        (D("25.00"), D("0.00"), D("30.00"), D("0.00")), D("55.00"))
    unpaid = sum(LedgerEntry.objects.values_list("amount", flat=True), D("0"))
    assert bucket_totals(by_manager)[1] == unpaid


def test_two_managers_of_the_same_name_age_apart_one_row_each(book, client):
    for manager in (book["north"], book["south"]):
        manager.first_name, manager.last_name = "Alex", "Morgan"
        manager.save(update_fields=["first_name", "last_name"])
    rows = aged_liability(user=book["finance"], as_of=AS_OF, group="manager").rows
    assert sorted((row.key, row.code, row.name, row.total) for row in rows) == sorted([
        (book["north"].pk, "am.n", "Alex Morgan", D("45.00")), (book["south"].pk, "am.s", "Alex Morgan", D("10.00"))])
    client.force_login(book["finance"])
    answer = client.get("/api/v1/aged-liability/", {"by": "manager", "as_of": "2026-12-04"}).json()
    assert sorted((row["code"], row["name"], row["total"]) for row in answer["rows"]) == [
        ("am.n", "Alex Morgan", "45.00"), ("am.s", "Alex Morgan", "10.00")]
    sheet = client.get(reverse("aged-liability"), {"by": "manager", "as_of": "2026-12-04", "export": "csv"})
    lines = sheet.content.decode("utf-8-sig").splitlines()
    assert [line.split(",")[:3] for line in lines[1:-1]] == [["am.n", "Alex Morgan", "USD"],
                                                            ["am.s", "Alex Morgan", "USD"]]


def test_the_aged_liability_page_and_sheet(book, client):
    client.force_login(book["finance"])
    page = client.get(reverse("aged-liability"), {"by": "manager", "as_of": "2026-12-04"}).content.decode()
    assert "am.n" in page and "45.00" in page and "55.00" in page
    sheet = client.get(reverse("aged-liability"), {"by": "program", "as_of": "2026-12-04", "export": "csv"})
    assert sheet["Content-Disposition"] == 'attachment; filename="aged-liability-by-program-2026-12-04.csv"'
    assert "widgets,Widgets,USD,25.00,0.00,30.00,0.00,55.00,25.00,0.00,30.00,0.00,55.00" in sheet.content.decode()


def test_the_aged_liability_api_and_its_bad_input(book, client):
    client.force_login(book["finance"])
    rows = client.get("/api/v1/aged-liability/", {"by": "customer", "as_of": "2026-12-04"}).json()
    assert rows["rows"][0] == {
        "code": "CA", "name": rows["rows"][0]["name"], "currency": "USD", "days_0_90": "15.00", "days_91_180": "0.00",
        "days_181_365": "30.00", "over_365_days": "0.00", "total": "45.00",
        "reporting": {"days_0_90": "15.00", "days_91_180": "0.00", "days_181_365": "30.00", "over_365_days": "0.00",
                      "total": "45.00"}}
    assert (rows["reporting_currency"], rows["rates"], rows["reporting_total"]["total"]) == ("USD", [], "55.00")
    empty = client.get("/api/v1/aged-liability/", {"as_of": ""})
    assert empty.status_code == 400 and empty.json()["details"][0]["field"] == "as_of"
    refused = client.get("/api/v1/aged-liability/", {"by": "region", "as_of": "2026-02-30"})
    assert refused.status_code == 400
    assert {detail["field"] for detail in refused.json()["details"]} == {"by", "as_of"}


def test_an_account_manager_reads_neither_report(book, client):
    client.force_login(book["north"])
    for url in (reverse("journal"), reverse("aged-liability"), "/api/v1/journals/", "/api/v1/aged-liability/"):
        assert client.get(url).status_code == 403


def test_a_programs_accounts_set_through_the_api_carry_its_journal(book, client):
    admin = UserFactory(username="admin.gl", role=roles.ADMINISTRATOR)
    client.force_login(admin)
    created = client.post("/api/v1/programs/", {"code": "nuts", "name": "Nuts", "gl_expense_account": "6300",
                                                "gl_liability_account": "2370", "cost_centre": "CC-9"},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    assert created.json()["gl_credit_note_account"] == "1200"  # left out: the default
    nuts = AgreementFactory(number="AG-N", program=RebateProgram.objects.get(code="nuts"),
                            customer=CustomerFactory(code="CN"))
    entry(nuts, date(2026, 10, 1), "accrual", "3.00")
    made = journal(user=book["finance"], first=date(2026, 10, 1), last=date(2026, 10, 1))
    assert {(line.account, line.cost_centre, line.debit, line.credit) for line in made.lines} == {
        ("6300", "CC-9", D("3.00"), D("0.00")), ("2370", "CC-9", D("0.00"), D("3.00"))}


def test_an_accrual_run_books_each_entry_with_its_agreements_program_and_currency():
    # A flat rule is booked by the database's one statement, one with a minimum through the engine's COPY.
    product = ProductFactory()
    flat, engine = (AgreementFactory(number=number, customer=CustomerFactory(code=code, currency=currency),
                                     products=[product], start_month=date(2026, 1, 1), end_month=date(2026, 12, 1))
                    for number, code, currency in (("AG-FLAT", "CF", "EUR"), ("AG-ENGINE", "CE", "USD")))
    RebateRule.objects.create(agreement=flat, kind="per_unit", rate_type="per_unit", rate=D("0.50"))
    RebateRule.objects.create(agreement=engine, kind="per_unit", rate_type="per_unit", rate=D("0.50"),
                              minimum=D("5"))
    for customer in (flat.customer, engine.customer):
        PurchaseLineFactory(customer=customer, product=product, month=date(2026, 2, 1), quantity=D("40"),
                            unit_price=D("2.0000"), amount=D("80.00"))
    run = accrual_run_start(as_of=date(2026, 3, 28), full=True, trigger="command", queue=False)
    accrual_run_perform(run_id=run.pk, close_settlements=False)
    booked = set(LedgerEntry.objects.filter(agreement__in=[flat, engine])
                 .values_list("agreement__number", "program_id", "currency"))
    assert booked == {("AG-FLAT", flat.program_id, "EUR"), ("AG-ENGINE", engine.program_id, "USD")}
