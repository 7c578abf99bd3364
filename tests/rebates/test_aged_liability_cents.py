"""The aged liability's rows keep the statement's integer cents and make amounts of them only when read
(docs/finance-reports.md): every figure they give, per customer, program and account manager, in the agreements'
currencies and in the reporting currency, equals the aging worked out in Decimals from the entries themselves,
with each bucket converted by `convert_amount`; over books with odd cents, amounts below zero, payouts and
forfeitures, and customers in two currencies at rates that land on half cents."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers import roles
from rebates.aging import AgedRow, aged_liability, amount_of, bucket_starts, bucket_totals, cents_text
from rebates.currencies import convert_amount
from rebates.models import ExchangeRate, Settlement
from tests.factories import AgreementFactory, CustomerFactory, LedgerEntryFactory, ProgramFactory, UserFactory

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 12, 4)
MONTHS = [date(2024 + (m // 12), m % 12 + 1, 1) for m in range(10, 37)]  # 2024-11 to 2027-01
KINDS = ["accrual", "catch_up", "adjustment", "payout", "forfeiture"]
ZERO = D("0.00")


def test_cents_are_made_into_amounts_with_two_places():
    assert [str(amount_of(cents)) for cents in (0, 1, -1, 5, -50, 100, 123456789)] == [
        "0.00", "0.01", "-0.01", "0.05", "-0.50", "1.00", "1234567.89"]


@given(cents=st.integers(-10**15, 10**15))
def test_cents_are_written_as_their_amount_is(cents):
    assert cents_text(cents) == f"{amount_of(cents):.2f}" == str(amount_of(cents))


def test_a_row_in_another_currency_converts_each_bucket_half_up_when_read():
    row = AgedRow(7, "C-EU", "Rhein Bau", "EUR", 1, -1, 3, 0, 3, False, D("1.5"))
    assert row.buckets == (D("0.01"), D("-0.01"), D("0.03"), D("0.00")) and row.total == D("0.03")
    # 0.015 -> 0.02, -0.015 -> -0.02 (half away from zero), 0.045 -> 0.05; the total is their sum.
    assert row.reporting == (D("0.02"), D("-0.02"), D("0.05"), D("0.00"), D("0.05"))
    assert row.figures == ((*row.buckets, row.total), row.reporting)
    assert AgedRow(7, "C-EU", "Rhein Bau", "EUR", 1, 0, 0, 0, 1, False, None).reporting is None
    same = AgedRow(8, "C-US", "Northgate", "USD", 1, 2, 3, 4, 10, True, None)
    assert same.reporting == (*same.buckets, same.total) == (D("0.01"), D("0.02"), D("0.03"), D("0.04"), D("0.10"))
    assert same.figures == (same.reporting, same.reporting) and same.cents == (1, 2, 3, 4, 10)


def entry(agreement, period, kind, amount):
    settlement = None
    if kind == "payout":
        start = date(2000, 1, 1) + timedelta(days=Settlement.objects.filter(agreement=agreement).count())
        settlement = Settlement.objects.create(agreement=agreement, period_start=start, period_end=start,
                                               accrued_total=-amount, amount=-amount)
    LedgerEntryFactory(agreement=agreement, period=period, kind=kind, amount=amount, settlement=settlement)


def aged_in_decimals(entries, as_of, rate):
    """Per (group key, currency): the four buckets and the total in Decimals, by the rule of
    docs/finance-reports.md applied to the entries, and the same converted bucket by bucket."""
    first, second, third = bucket_starts(as_of)
    per_agreement = defaultdict(lambda: [ZERO] * 4)  # unpaid, earned in the youngest, second, third bucket
    for keys, period, kind, amount in entries:
        figures = per_agreement[keys]
        figures[0] += amount
        if kind in ("accrual", "catch_up", "adjustment"):
            for index, start in enumerate((first, second, third), start=1):
                if period >= start:
                    figures[index] += amount
                    break
    groups = {name: defaultdict(lambda: [ZERO] * 5) for name in ("customer", "program", "manager")}
    for (_, customer, program, manager, currency), (unpaid, e0, e1, e2) in per_agreement.items():
        if unpaid == 0:
            continue
        c0 = max(e0, ZERO)
        c1 = c0 + max(e1, ZERO)
        c2 = c1 + max(e2, ZERO)
        s0, s1, s2 = min(unpaid, c0), min(unpaid, c1), min(unpaid, c2)
        for name, key in (("customer", customer), ("program", program), ("manager", manager)):
            for index, value in enumerate((s0, s1 - s0, s2 - s1, unpaid - s2, unpaid)):
                groups[name][(key, currency)][index] += value
    aged = {}
    for name, rows in groups.items():
        aged[name] = {}
        for key, figures in rows.items():
            if key[1] == "USD":
                reporting = tuple(figures)
            else:
                converted = [convert_amount(amount, rate) for amount in figures[:4]]
                reporting = (*converted, sum(converted, ZERO))
            aged[name][key] = (tuple(figures[:4]), figures[4], reporting)
    return aged


booked = st.lists(st.tuples(st.integers(0, 3), st.sampled_from(MONTHS), st.sampled_from(KINDS),
                            st.integers(-50_00, 200_00)), min_size=1, max_size=25)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entries=booked, rate=st.sampled_from(["1.5", "1.0837", "0.3333333333"]),
       as_of=st.sampled_from([date(2026, 1, 31), AS_OF, date(2027, 3, 15)]))
def test_every_figure_equals_the_aging_worked_out_in_decimals(entries, rate, as_of):
    with transaction.atomic():
        finance = UserFactory(role=roles.FINANCE)
        north, south = UserFactory(role=roles.ACCOUNT_MANAGER), UserFactory(role=roles.ACCOUNT_MANAGER)
        widgets, bolts = ProgramFactory(), ProgramFactory()
        dollars = CustomerFactory(account_manager=north)
        euros = CustomerFactory(currency="EUR", account_manager=north)
        agreements = [AgreementFactory(customer=dollars, program=widgets),
                      AgreementFactory(customer=dollars, program=bolts),
                      AgreementFactory(customer=euros, program=widgets),
                      AgreementFactory(customer=CustomerFactory(currency="EUR", account_manager=south),
                                       program=bolts)]
        ExchangeRate.objects.create(currency="EUR", to_currency="USD", month=as_of.replace(day=1), rate=D(rate))
        made = []
        for which, month, kind, cents in entries:
            agreement = agreements[which]
            amount = D(cents).scaleb(-2)
            if kind in ("payout", "forfeiture"):
                amount = -abs(amount)
            entry(agreement, month, kind, amount)
            customer = agreement.customer
            made.append(((agreement.pk, customer.pk, agreement.program_id, customer.account_manager_id,
                          customer.currency), month, kind, amount))
        expected = aged_in_decimals(made, as_of, D(rate))
        for group in ("customer", "program", "manager"):
            report = aged_liability(user=finance, as_of=as_of, group=group)
            got = {(row.key, row.currency): (row.buckets, row.total, row.reporting) for row in report.rows}
            assert got == expected[group]
            # Every amount carries its two places, as the numerics it stands for did.
            for row in report.rows:
                assert {amount.as_tuple().exponent for amount in (*row.buckets, row.total, *row.reporting)} == {-2}
            per_currency = {currency: (buckets, total) for currency, buckets, total in report.totals_per_currency}
            for currency in per_currency:
                mine = [figures for (_, of), figures in expected[group].items() if of == currency]
                assert per_currency[currency] == (
                    tuple(sum((figures[0][index] for figures in mine), ZERO) for index in range(4)),
                    sum((figures[1] for figures in mine), ZERO))
            reporting = [figures[2] for figures in expected[group].values()]
            assert report.reporting_totals == (
                tuple(sum((figures[index] for figures in reporting), ZERO) for index in range(4)),
                sum((figures[4] for figures in reporting), ZERO))
            assert bucket_totals(report.rows)[1] == sum((figures[1] for figures in expected[group].values()), ZERO)
        transaction.set_rollback(True)
