"""The nightly outlook through the database: forecasts and next tiers stored once per run, read by finance
by month of payout, and last month's forecasts against what the periods earned."""

import datetime
from decimal import Decimal

import pytest

from customers import roles
from rebates import forecasts
from rebates.models import AccrualRun, AgreementForecast, RebateRule, TierBand
from rebates.services import accrual_run_perform, accrual_run_start
from rebates.services.outlook import agreement_forecasts_record
from tests.factories import AgreementFactory, PerUnitRuleFactory, ProductFactory, PurchaseLineFactory, UserFactory

pytestmark = pytest.mark.django_db

D = Decimal


def month(m, year=2026):
    return datetime.date(year, m, 1)


def accrue(as_of, outlook=True):
    run = accrual_run_start(as_of=as_of, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk, outlook=outlook)


def tiered_agreement(months=(1, 2), **agreement):
    product = ProductFactory()
    agreement = AgreementFactory(products=[product], **agreement)
    rule = RebateRule.objects.create(agreement=agreement, kind="tiered", rate_type="percent",
                                     tier_basis="quantity", tier_method="retroactive")
    for threshold, rate in ((0, 1), (1000, 2), (5000, 3)):
        TierBand.objects.create(rule=rule, threshold=D(threshold), rate=D(rate))
    for m in months:
        PurchaseLineFactory(customer=agreement.customer, product=product, month=month(m), quantity=D("400"),
                            unit_price=D("10.00"))
    return agreement, product


def test_after_february_the_stored_outlook_is_200_units_from_the_tier_worth_80_catch_up_plus_40():
    agreement, _ = tiered_agreement()
    run = accrue(datetime.date(2026, 2, 28))

    row = AgreementForecast.objects.get(run=run, agreement=agreement)
    assert (row.next_kind, row.next_measure) == ("tier", "units")
    assert (row.to_go_units, row.to_go_amount) == (D("200.000"), D("2000.00"))
    assert (row.next_extra, row.next_extra_catch_up) == (D("120.00"), D("80.00"))
    assert (row.days_left, row.needed_per_month, row.own_per_month) == (306, D("20.000"), D("400.000"))
    assert (row.rebate, row.payout, row.rebate_to_date) == (D("960.00"), D("960.00"), D("80.00"))
    assert (row.period_start, row.period_end, row.payout_month) == (month(1), month(12), datetime.date(2027, 1, 1))
    assert row.method == "run-rate"


def test_the_outlook_of_a_run_is_stored_once_however_often_it_is_asked_for():
    tiered_agreement()
    run = accrue(datetime.date(2026, 2, 28))

    assert agreement_forecasts_record(run_id=run.pk) == 0
    assert agreement_forecasts_record(run_id=run.pk) == 0
    assert AgreementForecast.objects.filter(run=run).count() == 1


def test_a_run_that_did_not_succeed_stores_no_outlook():
    tiered_agreement()
    run = accrual_run_start(as_of=datetime.date(2026, 2, 28), trigger="command", queue=False)

    assert agreement_forecasts_record(run_id=run.pk) == 0
    AccrualRun.objects.filter(pk=run.pk).update(status="failed")
    assert agreement_forecasts_record(run_id=run.pk) == 0
    assert not AgreementForecast.objects.exists()


def test_a_successful_run_queues_its_outlook_after_commit(monkeypatch):
    tiered_agreement()
    from rebates.services import accrual

    queued = []
    monkeypatch.setattr(accrual, "queue_on_commit", lambda task, *args: queued.append((task.name, args)))
    run = accrue(datetime.date(2026, 2, 28), outlook=False)

    assert ("rebates.tasks.agreement_forecasts_record", (run.pk,)) in queued
    assert not AgreementForecast.objects.exists()


def test_last_years_months_shape_the_forecast():
    agreement, product = tiered_agreement(months=(1, 2, 3))
    for m in range(1, 13):  # last year: 200 a month to March, then 600
        PurchaseLineFactory(customer=agreement.customer, product=product, month=month(m, 2025),
                            quantity=D("200") if m <= 3 else D("600"), unit_price=D("10.00"))
    row = AgreementForecast.objects.get(run=accrue(datetime.date(2026, 3, 31)), agreement=agreement)

    assert row.method == "last year"
    assert row.volume_quantity == D("1200") + 9 * D("1200")  # twice last year's months
    assert row.rebate == D("3600.00")  # 3 % of $120,000.00 on 12,000 units


def test_flat_rules_are_forecast_without_a_next_tier():
    product = ProductFactory()
    agreement = AgreementFactory(products=[product])
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
    for m in (1, 2, 3):
        PurchaseLineFactory(customer=agreement.customer, product=product, month=month(m), quantity=D("10"))
    row = AgreementForecast.objects.get(run=accrue(datetime.date(2026, 3, 31)), agreement=agreement)

    assert row.next_kind == "" and row.next_extra is None
    assert row.rebate == D("30.00")  # the seed example: $2.50 a month for the year


def test_finance_sees_the_forecast_liability_by_month_of_payout():
    tiered_agreement()
    tiered_agreement(settlement_frequency="quarterly")
    accrue(datetime.date(2026, 2, 28))
    finance = UserFactory(role=roles.FINANCE)

    months = forecasts.forecast_liability_by_month(user=finance)

    # The annual period pays $960.00 in January; the quarter January to March pays 1,200 units at 2 %.
    assert [(m.month, m.agreements, m.payout) for m in months] == [
        (datetime.date(2026, 4, 1), 1, D("240.00")), (datetime.date(2027, 1, 1), 1, D("960.00"))]


def test_an_account_manager_sees_only_their_own_customers_forecasts():
    mine, _ = tiered_agreement()
    tiered_agreement()
    accrue(datetime.date(2026, 2, 28))
    manager = mine.customer.account_manager

    assert [row.agreement for row in forecasts.agreement_forecasts(user=manager)] == [mine]
    assert sum(m.agreements for m in forecasts.forecast_liability_by_month(user=manager)) == 1


def test_last_months_forecast_of_a_finished_quarter_is_set_against_what_it_earned():
    agreement, product = tiered_agreement(settlement_frequency="quarterly")
    accrue(datetime.date(2026, 2, 28))  # forecasts 1,200 units: $240.00
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(3), quantity=D("100"),
                        unit_price=D("10.00"))
    accrue(datetime.date(2026, 4, 2))  # March bought only 100: 900 units at 1 %, $90.00
    finance = UserFactory(role=roles.FINANCE)

    earlier, checks = forecasts.forecast_checks(user=finance)

    assert earlier.as_of == datetime.date(2026, 2, 28)
    [check] = checks
    assert (check.forecast.rebate, check.actual, check.error) == (D("240.00"), D("90.00"), D("150.00"))


def test_the_sweeper_queues_the_lost_outlook_of_the_latest_run_again(monkeypatch, settings, pinned_clock):
    from rebates.services import recovery

    tiered_agreement()
    run = accrue(datetime.date(2026, 2, 28), outlook=False)
    queued = []
    monkeypatch.setattr(recovery, "queue_on_commit", lambda task, *args: queued.append((task.name, args)))
    settings.QUEUED_WORK_REQUEUE_SECONDS = 0
    pinned_clock.shift(datetime.timedelta(seconds=5))

    assert recovery.rebate_work_requeue(queue_empty=True)["outlooks"] == 1
    assert ("rebates.tasks.agreement_forecasts_record", (run.pk,)) in queued
    agreement_forecasts_record(run_id=run.pk)
    assert recovery.rebate_work_requeue(queue_empty=True)["outlooks"] == 0


def test_the_sweeper_queues_a_lost_value_and_risk_refresh_of_the_latest_run_once(monkeypatch, settings, pinned_clock):
    from outlook.services import outlook_refresh
    from rebates.services import recovery

    tiered_agreement()
    run = accrue(datetime.date(2026, 2, 28))
    queued = []
    monkeypatch.setattr(recovery, "queue_on_commit", lambda task, *args: queued.append((task.name, args)))
    settings.QUEUED_WORK_REQUEUE_SECONDS = 0
    pinned_clock.shift(datetime.timedelta(seconds=5))

    # The run's end queued the refresh, but the message was lost: no customer is valued as of its day.
    assert recovery.rebate_work_requeue(queue_empty=True)["values"] == 1
    assert queued == [("outlook.tasks.outlook_refresh", ("2026-02-28",))]
    outlook_refresh(as_of=run.as_of)
    assert recovery.rebate_work_requeue(queue_empty=True)["values"] == 0
