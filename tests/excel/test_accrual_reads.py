"""The accrual reads behind the sheets and the API: per (agreement, month) rows and the monthly statement."""

import datetime
from decimal import Decimal

import pytest
from django.http import Http404

from rebates.models import LedgerEntry
from rebates.selectors import accrual_rows, agreement_statement
from rebates.services import agreement_terminate
from tests.excel.ledgers import (
    D,
    accrue,
    finance_user,
    month,
    seed_agreement,
    tiered_agreement,
    two_managers_agreements,
)

pytestmark = pytest.mark.django_db


def test_seed_example_rows_read_2_50_a_month_and_30_cumulative():
    seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    rows = list(accrual_rows(user=finance_user()))
    assert [(r["month"], r["units"], r["eligible"], r["accrued"]) for r in rows] == [
        (month(m), D("10.000"), D("121.00"), D("2.50")) for m in range(1, 13)]
    assert rows[-1]["cumulative"] == D("30.00")
    assert sum(r["unpaid"] for r in rows) == D("30.00")
    assert {(r["number"], r["customer_code"], r["paid"], r["forfeited"]) for r in rows} == {
        ("AG-SEED", rows[0]["customer_code"], D("0.00"), D("0.00"))}


def test_cumulative_counts_the_months_before_month_from():
    seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    rows = list(accrual_rows(user=finance_user(), month_from=month(4), month_to=month(6)))
    assert [(r["month"], r["cumulative"]) for r in rows] == [
        (month(4), D("10.00")), (month(5), D("12.50")), (month(6), D("15.00"))]


def test_months_filter_without_running_total():
    seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    rows = list(accrual_rows(user=finance_user(), month_from=month(11), cumulative=False))
    assert [r["month"] for r in rows] == [month(11), month(12)]
    assert "cumulative" not in rows[0]


def test_tiered_rows_hold_the_catch_up_in_march():
    tiered_agreement()
    accrue(datetime.date(2026, 3, 31))
    rows = list(accrual_rows(user=finance_user()))
    assert [(r["month"], r["accrued"], r["cumulative"]) for r in rows] == [
        (month(1), D("40.00"), D("40.00")), (month(2), D("40.00"), D("80.00")), (month(3), D("160.00"), D("240.00"))]


def test_forfeiture_takes_the_unpaid_balance_to_zero():
    agreement = seed_agreement()
    accrue(datetime.date(2026, 6, 30))
    agreement_terminate(agreement=agreement, terminated_on=datetime.date(2026, 6, 30))
    rows = list(accrual_rows(user=finance_user()))
    june = rows[-1]
    assert (june["month"], june["accrued"], june["forfeited"], june["unpaid"]) == (
        month(6), D("2.50"), D("15.00"), D("-12.50"))
    assert sum(r["unpaid"] for r in rows) == D("0.00")


def test_filters_by_customer_manager_program_and_agreement():
    manager_a, manager_b, seed, tiered = two_managers_agreements()
    finance = finance_user()
    assert {r["number"] for r in accrual_rows(user=finance, customer="C-B")} == {"AG-TIER"}
    assert {r["number"] for r in accrual_rows(user=finance, manager="manager_a")} == {"AG-SEED"}
    assert {r["number"] for r in accrual_rows(user=finance, program=seed.program_id)} == {"AG-SEED"}
    assert {r["number"] for r in accrual_rows(user=finance, program=tiered.program.code)} == {"AG-TIER"}
    assert {r["number"] for r in accrual_rows(user=finance, agreement="AG-TIER")} == {"AG-TIER"}


def test_account_manager_reads_only_their_own_customers_rows():
    manager_a, manager_b, seed, tiered = two_managers_agreements()
    assert {r["number"] for r in accrual_rows(user=manager_a)} == {"AG-SEED"}
    assert list(accrual_rows(user=manager_a, customer="C-B")) == []
    assert list(accrual_rows(user=manager_b, agreement="AG-SEED")) == []


def test_rows_sum_to_the_ledger():
    two_managers_agreements()
    rows = list(accrual_rows(user=finance_user()))
    ledger = sum(LedgerEntry.objects.values_list("amount", flat=True))
    assert sum(r["unpaid"] for r in rows) == ledger


def test_statement_of_the_seed_example():
    agreement = seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    statement = agreement_statement(user=finance_user(), number=agreement.number, as_of=datetime.date(2026, 12, 31))
    assert [(m.month, m.units, m.net_price, m.rebate_per_unit, m.monthly_rebate, m.shortfall)
            for m in statement.months] == [
        (month(m), D("10.000"), D("12.1000"), D("0.2500"), D("2.50"), False) for m in range(1, 13)]
    assert statement.months[-1].cumulative_rebate == D("30.00") == statement.total_rebate
    assert statement.months[0].net_net_price == D("11.8500")


def test_statement_flags_shortfall_months():
    agreement = tiered_agreement()
    accrue(datetime.date(2026, 3, 31))
    statement = agreement_statement(user=finance_user(), number=agreement.number, as_of=datetime.date(2026, 3, 31))
    assert [(m.monthly_rebate, m.cumulative_rebate, m.shortfall) for m in statement.months] == [
        (D("40.00"), D("40.00"), True), (D("40.00"), D("80.00"), True), (D("160.00"), D("240.00"), True)]
    assert statement.months[2].rebate_per_unit == Decimal("0.2000")


def test_statement_of_another_managers_agreement_is_404():
    manager_a, manager_b, seed, tiered = two_managers_agreements()
    with pytest.raises(Http404):
        agreement_statement(user=manager_a, number=tiered.number)
    assert agreement_statement(user=manager_a, number=seed.number, as_of=datetime.date(2026, 12, 31)).total_rebate == D(
        "30.00")
