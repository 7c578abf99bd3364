"""The aged liability reads only the agreement balances: each keeps its customer and what its agreement earned up
to each month (`earned_cents`), in step with every entry booked, in the booking's own transaction
(docs/finance-reports.md). These tests hold the kept figures to the ledger's sums: after accruals, payouts,
forfeitures, credit notes below zero, entries booked in a later month than they concern, an agreement moved to
another customer, and any sequence of entries, where the report equals the aging worked out from the entries."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers import roles
from rebates.aging import aged_liability, bucket_starts
from rebates.models import AgreementBalance, LedgerEntry, Settlement
from rebates.services.period_lock import period_lock
from rebates.sql.accrual import balances_out_of_step
from tests.factories import AgreementFactory, CustomerFactory, LedgerEntryFactory, UserFactory

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 12, 4)


def subscript(month: date) -> int:
    return month.year * 12 + month.month - 1


def earned(agreement) -> tuple[int | None, list[int] | None]:
    """The balance's running sums as the database holds them: (first month's subscript, the sums)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT array_lower(earned_cents, 1), earned_cents::text FROM rebates_agreementbalance "
                       "WHERE agreement_id = %s", [agreement.pk])
        first, text = cursor.fetchone()
    if text is None:
        return None, None
    return first, [int(value) for value in text.split("=")[-1].strip("{}").split(",")]


def entry(agreement, period, kind, amount):
    """An entry of the ledger; a payout names a settlement of its own (a period starting on a day of its own)."""
    settlement = None
    if kind == "payout":
        start = date(2000, 1, 1) + timedelta(days=Settlement.objects.filter(agreement=agreement).count())
        settlement = Settlement.objects.create(agreement=agreement, period_start=start, period_end=start,
                                               accrued_total=-D(amount), amount=-D(amount))
    return LedgerEntryFactory(agreement=agreement, period=period, kind=kind, amount=D(amount), settlement=settlement)


def test_the_balance_keeps_what_was_earned_up_to_each_month_from_the_first_to_the_last():
    agreement = AgreementFactory()
    entry(agreement, date(2026, 3, 1), "accrual", "10.00")
    entry(agreement, date(2026, 5, 1), "accrual", "2.50")  # April earned nothing: its sum stays
    assert earned(agreement) == (subscript(date(2026, 3, 1)), [1000, 1000, 1250])
    entry(agreement, date(2026, 1, 1), "catch_up", "1.00")  # an older month widens the sums backwards
    entry(agreement, date(2026, 7, 1), "adjustment", "-0.25")  # and a newer one forwards
    assert earned(agreement) == (subscript(date(2026, 1, 1)), [100, 100, 1100, 1100, 1350, 1350, 1325])
    assert AgreementBalance.objects.get(agreement=agreement).accrued == D("13.25")
    assert balances_out_of_step() == []


def test_payouts_and_forfeitures_leave_what_was_earned_unchanged():
    agreement = AgreementFactory()
    entry(agreement, date(2026, 3, 1), "accrual", "10.00")
    entry(agreement, date(2026, 6, 1), "payout", "-4.00")
    entry(agreement, date(2026, 8, 1), "forfeiture", "-6.00")
    assert earned(agreement) == (subscript(date(2026, 3, 1)), [1000])
    only_paid = AgreementFactory()
    entry(only_paid, date(2026, 6, 1), "payout", "-1.00")
    assert earned(only_paid) == (None, None)
    assert balances_out_of_step() == []


def test_entries_booked_in_one_statement_over_several_months_and_agreements_add_up():
    first, second = AgreementFactory(), AgreementFactory()
    entry(first, date(2026, 4, 1), "accrual", "5.00")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO rebates_ledgerentry (agreement_id, period, concerns, kind, quantity, eligible_amount, amount, "
            "booking_key, booked_at) VALUES "
            "(%(a)s, '2026-02-01', '2026-02-01', 'accrual', 0, 0, 1.10, 'raw-1', now()), "
            "(%(a)s, '2026-04-01', '2026-04-01', 'adjustment', 0, 0, -0.10, 'raw-2', now()), "
            "(%(a)s, '2026-04-01', '2026-04-01', 'forfeiture', 0, 0, -3.00, 'raw-3', now()), "
            "(%(b)s, '2026-09-01', '2026-09-01', 'catch_up', 0, 0, 0.01, 'raw-4', now())",
            {"a": first.pk, "b": second.pk})
    assert earned(first) == (subscript(date(2026, 2, 1)), [110, 110, 600])
    assert earned(second) == (subscript(date(2026, 9, 1)), [1])
    assert balances_out_of_step() == []


def test_an_entry_for_a_locked_month_counts_in_the_month_it_is_booked_in():
    finance = UserFactory(username="fin.lock", role=roles.FINANCE)
    agreement = AgreementFactory()
    entry(agreement, date(2026, 8, 1), "accrual", "10.00")
    period_lock(month=date(2026, 9, 1), by=finance, today=AS_OF)
    late = entry(agreement, date(2026, 9, 1), "adjustment", "3.00")  # concerns September, booked in October
    assert (late.concerns, late.period) == (date(2026, 9, 1), date(2026, 10, 1))
    assert earned(agreement) == (subscript(date(2026, 8, 1)), [1000, 1000, 1300])
    assert balances_out_of_step() == []


def test_the_balance_follows_its_agreement_to_another_customer():
    agreement = AgreementFactory()
    entry(agreement, date(2026, 3, 1), "accrual", "10.00")
    assert AgreementBalance.objects.get(agreement=agreement).customer_id == agreement.customer_id
    other = CustomerFactory(currency=agreement.customer.currency)
    agreement.customer = other
    agreement.save()
    assert AgreementBalance.objects.get(agreement=agreement).customer_id == other.pk
    finance = UserFactory(username="fin.moved", role=roles.FINANCE)
    assert [(row.key, row.total) for row in aged_liability(user=finance, as_of=AS_OF).rows] == [
        (other.pk, D("10.00"))]
    assert balances_out_of_step() == []


def test_the_nightly_check_finds_running_sums_or_a_customer_out_of_step():
    agreement = AgreementFactory()
    entry(agreement, date(2026, 3, 1), "accrual", "10.00")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rebates_agreementbalance SET earned_cents = '[24314:24314]={999}' "
                       "WHERE agreement_id = %s", [agreement.pk])
    assert balances_out_of_step() == [(agreement.pk, D("10.00"), D("10.00"))]
    with connection.cursor() as cursor:
        cursor.execute("UPDATE rebates_agreementbalance SET earned_cents = '[24314:24314]={1000}', "
                       "customer_id = %s WHERE agreement_id = %s", [CustomerFactory().pk, agreement.pk])
    assert balances_out_of_step() == [(agreement.pk, D("10.00"), D("10.00"))]


# --- the report against the aging worked out from the entries ------------------------------------------------

MONTHS = [date(2024 + (m // 12), m % 12 + 1, 1) for m in range(10, 37)]  # 2024-11 to 2027-01
KINDS = ["accrual", "catch_up", "adjustment", "payout", "forfeiture"]


def aged_from_entries(entries, as_of):
    """The rule of docs/finance-reports.md applied to the entries themselves: per customer, its buckets."""
    first, second, third = bucket_starts(as_of)
    per_agreement = defaultdict(lambda: [D("0.00")] * 4)  # unpaid, e0, e1, e2
    for customer, agreement, period, kind, amount in entries:
        figures = per_agreement[(customer, agreement)]
        figures[0] += amount
        if kind in ("accrual", "catch_up", "adjustment"):
            if period >= first:
                figures[1] += amount
            elif period >= second:
                figures[2] += amount
            elif period >= third:
                figures[3] += amount
    rows = defaultdict(lambda: [D("0.00")] * 5)
    for (customer, _), (unpaid, e0, e1, e2) in per_agreement.items():
        if unpaid == 0:
            continue
        c0 = max(e0, D("0.00"))
        c1 = c0 + max(e1, D("0.00"))
        c2 = c1 + max(e2, D("0.00"))
        s0, s1, s2 = min(unpaid, c0), min(unpaid, c1), min(unpaid, c2)
        for index, value in enumerate((s0, s1 - s0, s2 - s1, unpaid - s2, unpaid)):
            rows[customer][index] += value
    return {customer: tuple(figures) for customer, figures in rows.items()}


booked = st.lists(st.tuples(st.integers(0, 2), st.sampled_from(MONTHS), st.sampled_from(KINDS),
                            st.integers(-50_00, 200_00)), min_size=1, max_size=25)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=booked, as_of=st.sampled_from([date(2026, 1, 31), AS_OF, date(2027, 3, 15)]))
def test_any_entries_age_per_customer_as_the_entries_themselves_say(entries, as_of):
    with transaction.atomic():
        finance = UserFactory(role=roles.FINANCE)
        agreements = [AgreementFactory() for _ in range(2)]
        agreements.append(AgreementFactory(customer=agreements[0].customer))  # a customer with two agreements
        made = []
        for which, month, kind, cents in entries:
            agreement = agreements[which]
            amount = D(cents).scaleb(-2)
            if kind in ("payout", "forfeiture"):
                amount = -abs(amount)
            entry(agreement, month, kind, str(amount))
            made.append((agreement.customer_id, agreement.pk, month, kind, amount))
        assert balances_out_of_step() == []
        rows = {row.key: (*row.buckets, row.total) for row in aged_liability(user=finance, as_of=as_of).rows}
        assert rows == aged_from_entries(made, as_of)
        assert sum(row[4] for row in rows.values()) == sum(LedgerEntry.objects.values_list("amount", flat=True))
        transaction.set_rollback(True)
