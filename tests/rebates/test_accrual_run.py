"""The nightly run books the difference between the engine and the ledger: docs/product.md's worked examples
through the database, reruns that book nothing, incremental runs that agree with --full."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from config import clock
from customers.models import AuditRecord
from rebates.models import AccrualRun, LedgerEntry, RebateAgreement, RebateRule, TierBand
from rebates.services import accrual_run_perform, accrual_run_start, agreement_terminate
from tests.factories import (
    AgreementFactory,
    PerUnitRuleFactory,
    ProductFactory,
    PurchaseLineFactory,
)

pytestmark = pytest.mark.django_db

D = Decimal
TEN = Decimal("10")
YEAR = tuple(range(1, 13))


def month(m, year=2026):
    return datetime.date(year, m, 1)


def accrue(as_of, full=False):
    run = accrual_run_start(as_of=as_of, full=full, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk)


def seed_agreement(months=YEAR, units=TEN):
    product = ProductFactory(sku="FAS-101")
    agreement = AgreementFactory(products=[product])
    PerUnitRuleFactory(agreement=agreement, rate=D("0.25"))
    for m in months:
        PurchaseLineFactory(customer=agreement.customer, product=product, month=month(m), quantity=units,
                            unit_price=D("12.10"))
    return agreement, product


def entries(agreement, **filters):
    return LedgerEntry.objects.filter(agreement=agreement, **filters)


def total(agreement, **filters):
    return entries(agreement, **filters).aggregate(total=Sum("amount"))["total"] or D("0")


def test_seed_example_accrues_2_50_a_month_and_30_for_the_year():
    agreement, _ = seed_agreement()
    run = accrue(datetime.date(2027, 1, 15))
    monthly = list(entries(agreement).order_by("period").values_list("period", "kind", "amount"))
    assert monthly == [(month(m), "accrual", D("2.50")) for m in range(1, 13)]
    assert total(agreement) == D("30.00")
    assert entries(agreement).aggregate(q=Sum("quantity"), e=Sum("eligible_amount")) == {
        "q": D("120.000"), "e": D("1452.00")}
    assert run.status == "succeeded" and run.entries_count == 12 and run.total_amount == D("30.00")


def test_second_run_with_nothing_changed_books_nothing():
    seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    again = accrue(datetime.date(2026, 12, 31))
    assert again.status == "succeeded"
    assert again.entries_count == 0
    assert LedgerEntry.objects.count() == 12


def test_full_recompute_after_incremental_runs_books_nothing():
    agreement, product = seed_agreement(months=range(1, 4))
    accrue(datetime.date(2026, 3, 31))
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(4), quantity=D("8"))
    accrue(datetime.date(2026, 4, 30))
    full = accrue(datetime.date(2026, 4, 30), full=True)
    assert full.agreements_count == 1
    assert full.entries_count == 0
    assert total(agreement) == D("9.50")


def test_late_credit_note_books_an_adjustment_against_march_in_may():
    agreement, product = seed_agreement(months=range(1, 6))
    accrue(datetime.date(2026, 4, 30))
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(3), quantity=D("-2"),
                        unit_price=D("12.10"))
    run = accrue(datetime.date(2026, 5, 31))
    adjustment = entries(agreement, kind="adjustment").get()
    assert (adjustment.period, adjustment.amount, adjustment.quantity) == (month(3), D("-0.50"), D("-2.000"))
    assert adjustment.accrual_run == run
    assert total(agreement, period=month(3)) == D("2.00")
    assert entries(agreement, period=month(5), kind="accrual").get().amount == D("2.50")


def test_retroactive_tier_books_march_with_its_catch_up():
    product = ProductFactory()
    agreement = AgreementFactory(products=[product])
    rule = RebateRule.objects.create(agreement=agreement, kind="tiered", rate_type="percent",
                                     tier_basis="quantity", tier_method="retroactive")
    for threshold, rate in ((0, 1), (1000, 2), (5000, 3)):
        TierBand.objects.create(rule=rule, threshold=D(threshold), rate=D(rate))
    for m in (1, 2, 3):
        PurchaseLineFactory(customer=agreement.customer, product=product, month=month(m), quantity=D("400"),
                            unit_price=D("10.00"))
    accrue(datetime.date(2026, 3, 31))
    booked = {(e.period.month, e.kind): e.amount for e in entries(agreement)}
    assert booked == {(1, "accrual"): D("40.00"), (2, "accrual"): D("40.00"), (3, "accrual"): D("80.00"),
                      (3, "catch_up"): D("80.00")}


def test_purchase_out_of_scope_or_outside_the_term_books_nothing():
    agreement, _ = seed_agreement(months=[])
    other_product = ProductFactory()
    PurchaseLineFactory(customer=agreement.customer, product=other_product, month=month(2))
    PurchaseLineFactory(customer=agreement.customer, product=agreement.products.get(), month=month(1, 2027))
    run = accrue(datetime.date(2027, 3, 1))
    assert run.entries_count == 0


def test_product_line_scope_counts_every_product_of_the_line():
    product = ProductFactory()
    sibling = ProductFactory(product_line=product.product_line)
    agreement = AgreementFactory()
    agreement.product_lines.set([product.product_line])
    PerUnitRuleFactory(agreement=agreement, rate=D("0.10"))
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(1), quantity=D("5"))
    PurchaseLineFactory(customer=agreement.customer, product=sibling, month=month(1), quantity=D("7"))
    accrue(datetime.date(2026, 1, 31))
    assert total(agreement) == D("1.20")


def test_incremental_run_recomputes_only_agreements_that_changed():
    changed, product = seed_agreement(months=[1])
    other_product = ProductFactory()
    untouched = AgreementFactory(products=[other_product])
    PerUnitRuleFactory(agreement=untouched)
    PurchaseLineFactory(customer=untouched.customer, product=other_product, month=month(1))
    accrue(datetime.date(2026, 1, 31))
    PurchaseLineFactory(customer=changed.customer, product=product, month=month(1), quantity=D("4"))
    run = accrue(datetime.date(2026, 1, 31))
    assert run.agreements_count == 1
    assert set(run.chunks.get().agreement_ids) == {changed.pk}
    assert total(changed) == D("3.50")


def test_a_rule_change_is_recomputed_by_the_next_incremental_run():
    agreement, _ = seed_agreement(months=[1, 2])
    accrue(datetime.date(2026, 2, 28))
    agreement.rule.rate = D("0.30")
    agreement.rule.save()
    agreement.save()  # terms changed: the admin saves the agreement with its rule
    accrue(datetime.date(2026, 2, 28))
    assert total(agreement) == D("6.00")
    assert entries(agreement, kind="adjustment").count() == 2


def test_forfeiture_when_the_seed_customer_leaves_at_the_end_of_june():
    agreement, _ = seed_agreement()
    accrue(datetime.date(2026, 6, 30))
    forfeiture = agreement_terminate(agreement=agreement, terminated_on=datetime.date(2026, 6, 30))
    assert forfeiture.amount == D("-15.00")
    assert total(agreement, kind__in=["accrual", "catch_up", "adjustment"]) == D("15.00")
    assert total(agreement) == D("0.00")
    assert not entries(agreement, kind="payout").exists()
    # Later runs leave a terminated agreement closed.
    assert accrue(datetime.date(2026, 12, 31)).entries_count == 0


def test_termination_takes_back_months_booked_after_it():
    agreement, _ = seed_agreement()
    accrue(datetime.date(2026, 9, 30))
    agreement_terminate(agreement=agreement, terminated_on=datetime.date(2026, 6, 15))
    assert total(agreement, kind__in=["accrual", "catch_up", "adjustment"]) == D("15.00")
    assert total(agreement, kind="forfeiture") == D("-15.00")


def test_every_run_leaves_an_audit_record():
    seed_agreement(months=[1])
    run = accrue(datetime.date(2026, 1, 31))
    actions = set(AuditRecord.objects.filter(target_id=str(run.pk), target_type="rebates.accrualrun")
                  .values_list("action", flat=True))
    assert actions == {"accrual_run.start", "accrual_run.finish"}


def test_accrue_command_reports_what_it_booked():
    seed_agreement(months=[1, 2])
    from io import StringIO

    out = StringIO()
    call_command("accrue", "--as-of", "2026-02-28", stdout=out)
    assert "succeeded: 1 agreements recomputed, 2 entries booked, 5.00 in total" in out.getvalue()
    assert AccrualRun.objects.get().trigger == "command"


def test_accrue_command_refuses_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--as-of must be a date as YYYY-MM-DD"):
        call_command("accrue", "--as-of", "2026-13-01")


def test_a_changed_line_outside_every_scope_recomputes_nothing():
    agreement, _ = seed_agreement(months=[1])
    accrue(datetime.date(2026, 1, 31))
    PurchaseLineFactory(customer=agreement.customer, product=ProductFactory(), month=month(1))
    run = accrue(datetime.date(2026, 1, 31))
    assert (run.agreements_count, run.entries_count) == (0, 0)


def test_accrue_command_with_two_workers_books_what_one_would(transactional_db):
    seed_agreement()
    from io import StringIO

    call_command("accrue", "--as-of", "2026-12-31", "--workers", "2", stdout=StringIO())
    assert LedgerEntry.objects.count() == 12
    assert total(RebateAgreement.objects.get()) == D("30.00")


def test_growth_over_last_years_same_period_reads_the_year_before_the_term():
    product = ProductFactory()
    agreement = AgreementFactory(products=[product])
    RebateRule.objects.create(agreement=agreement, kind="growth", rate_type="percent", rate=D("5"),
                              baseline="last_year")
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(6, 2025), quantity=D("1000"),
                        unit_price=D("100.00"))
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(6), quantity=D("1300"),
                        unit_price=D("100.00"))
    accrue(datetime.date(2026, 12, 31))
    assert total(agreement) == D("1500.00")


def test_a_late_line_recomputes_only_the_months_it_can_move_and_the_others_come_from_the_ledger():
    agreement, product = seed_agreement()
    accrue(datetime.date(2026, 12, 31))
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(9), quantity=D("4"),
                        unit_price=D("12.10"))
    run = accrue(datetime.date(2026, 12, 31))
    assert run.chunks.get().changed_months == {str(agreement.pk): ["2026-09-01"]}
    adjustment = entries(agreement, kind="adjustment").get()
    assert (adjustment.period, adjustment.quantity, adjustment.amount) == (month(9), D("4.000"), D("1.00"))
    assert total(agreement) == D("31.00")
    assert accrue(datetime.date(2026, 12, 31), full=True).entries_count == 0


def test_a_late_line_under_a_retroactive_tier_rebooks_the_rest_of_its_period():
    product = ProductFactory()
    agreement = AgreementFactory(products=[product])
    rule = RebateRule.objects.create(agreement=agreement, kind="tiered", rate_type="percent",
                                     tier_basis="quantity", tier_method="retroactive")
    for threshold, rate in ((0, 1), (1000, 2), (5000, 3)):
        TierBand.objects.create(rule=rule, threshold=D(threshold), rate=D(rate))
    for m in (1, 2, 3, 4):
        PurchaseLineFactory(customer=agreement.customer, product=product, month=month(m), quantity=D("400"),
                            unit_price=D("10.00"))
    accrue(datetime.date(2026, 4, 30))
    # February grows by 200 units: the second tier is now crossed in February, not March.
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(2), quantity=D("200"),
                        unit_price=D("10.00"))
    accrue(datetime.date(2026, 4, 30))
    by_month = {m: total(agreement, period=month(m)) for m in (1, 2, 3, 4)}
    # Period to date at 2%: February 1,000 units -> $200.00, March 1,400 -> $280.00, April 1,800 -> $360.00.
    assert by_month == {1: D("40.00"), 2: D("160.00"), 3: D("80.00"), 4: D("80.00")}
    assert entries(agreement, period=month(1)).count() == 1  # January cannot move
    assert accrue(datetime.date(2026, 4, 30), full=True).entries_count == 0


def test_a_changed_line_of_last_year_recomputes_the_period_of_the_same_month_this_year():
    product = ProductFactory()
    agreement = AgreementFactory(products=[product])
    RebateRule.objects.create(agreement=agreement, kind="growth", rate_type="percent", rate=D("5"),
                              baseline="last_year")
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(6), quantity=D("1300"),
                        unit_price=D("100.00"))
    accrue(datetime.date(2026, 12, 31))
    assert total(agreement) == D("6500.00")
    # Last year's June arrives late: the run recomputes in part, reading this June's period and last year's.
    PurchaseLineFactory(customer=agreement.customer, product=product, month=month(6, 2025), quantity=D("1000"),
                        unit_price=D("100.00"))
    run = accrue(datetime.date(2026, 12, 31))
    assert run.chunks.get().changed_months == {str(agreement.pk): ["2025-06-01"]}
    assert total(agreement) == D("1500.00")
    assert run.entries_count == 1
    assert accrue(datetime.date(2026, 12, 31), full=True).entries_count == 0


def test_a_run_that_fails_midway_is_marked_failed_not_left_running(monkeypatch):
    seed_agreement()
    from rebates.services import accrual

    def broken(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(accrual, "ledger_differences", broken)
    run = accrual_run_start(as_of=datetime.date(2026, 12, 31), trigger="command", queue=False)
    with pytest.raises(RuntimeError):
        accrual_run_perform(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == "failed" and "the database went away" in run.error
    monkeypatch.undo()
    assert accrue(datetime.date(2026, 12, 31)).entries_count == 12


def test_a_run_as_of_a_later_date_closes_only_the_periods_ended_by_today(monkeypatch):
    seed_agreement()

    from rebates.services import accrual

    queued = []
    monkeypatch.setattr(accrual, "queue_on_commit", lambda task, *args: queued.append((task.name, args)))
    today = clock.today()
    accrue(today + datetime.timedelta(days=400))
    assert ("rebates.tasks.settlements_close_due", (today.isoformat(),)) in queued


def test_a_late_line_of_a_referred_customer_rebooks_the_referrers_agreement_as_full_would():
    referrer, product = seed_agreement(months=[1, 2])
    RebateRule.objects.filter(agreement=referrer).update(kind="referral", rate_type="percent", rate=D(2))
    # The referred customer has its own agreement on the product; a third one has nothing to do with either.
    referred = AgreementFactory(products=[product])
    PerUnitRuleFactory(agreement=referred, rate=D("0.25"))
    untouched = AgreementFactory(products=[product])
    PerUnitRuleFactory(agreement=untouched, rate=D("0.25"))
    customer = referred.customer
    customer.referred_by, customer.referral_from, customer.referral_months = referrer.customer, month(2), 6
    customer.save()
    for m in (1, 2):
        PurchaseLineFactory(customer=customer, product=product, month=month(m), quantity=TEN, unit_price=D("12.10"))
    accrue(datetime.date(2026, 2, 28))
    # 2% of the referred customer's February ($121.00); January is before its window.
    assert total(referrer) == D("2.42")

    PurchaseLineFactory(customer=customer, product=product, month=month(2), quantity=D("5"), unit_price=D("10.00"))
    run = accrue(datetime.date(2026, 2, 28))
    assert set(run.chunks.get().agreement_ids) == {referrer.pk, referred.pk}
    assert total(referrer) == D("3.42")
    assert total(referred) == D("6.25")
    assert accrue(datetime.date(2026, 2, 28), full=True).entries_count == 0
