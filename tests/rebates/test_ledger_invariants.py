"""R1: the ledger's invariants over random sequences of ingest, correct, accrue, terminate, settle and pay.

After every step: each agreement's balance is the sum of its entries by kind; a payout never pays more
than was earned and unpaid when it was booked; the unpaid balance is never negative except by a
correction to a month that was already paid (carried into the next settlement); a terminated agreement
owes nothing; and after every accrual a full recompute agrees with the incremental ledger to the cent.
"""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers import roles
from rebates.engine.periods import add_months
from rebates.models import LedgerEntry, PurchaseLine, RebateAgreement, RebateRule, Settlement, TierBand
from rebates.services import (
    SettlementError,
    accrual_run_perform,
    accrual_run_start,
    agreement_terminate,
    settlement_approve,
    settlement_interim,
    settlement_pay,
)
from tests.factories import AgreementFactory, ProductFactory, UserFactory

START = datetime.date(2026, 1, 1)
D = Decimal

# A purchase for the as-of month or up to five months before it: late lines meet months already booked.
ingest = st.tuples(st.just("ingest"), st.integers(0, 2), st.integers(0, 5), st.integers(-5, 400))
correct = st.tuples(st.just("correct"), st.integers(0, 50), st.integers(-5, 400))
# Months the as-of date moves forward: often none, so late changes meet months already booked.
accrue = st.tuples(st.just("accrue"), st.sampled_from([0, 0, 1, 3]))
terminate = st.tuples(st.just("terminate"), st.integers(0, 2), st.integers(0, 11))
settle = st.tuples(st.just("settle"), st.integers(0, 2), st.integers(0, 11))
pay = st.tuples(st.just("pay"))
steps = st.lists(st.one_of(ingest, ingest, correct, accrue, accrue, terminate, settle, pay), min_size=1, max_size=25)


def _book():
    """Three agreements of three rule kinds and frequencies, each with its own product."""
    agreements = []
    for i, (kind, frequency) in enumerate((("per_unit", "annual"), ("tiered", "quarterly"), ("percent", "monthly"))):
        product = ProductFactory()
        agreement = AgreementFactory(products=[product], settlement_frequency=frequency, number=f"R1-{i}")
        if kind == "tiered":
            rule = RebateRule.objects.create(agreement=agreement, kind="tiered", rate_type="percent",
                                             tier_basis="quantity", tier_method="retroactive", cap=D("900.00"))
            TierBand.objects.bulk_create([TierBand(rule=rule, threshold=D(t), rate=D(r))
                                          for t, r in ((0, 1), (500, 2), (1500, 4))])
        else:
            RebateRule.objects.create(agreement=agreement, kind=kind, rate_type=kind,
                                      rate=D("0.25") if kind == "per_unit" else D("1.75"), minimum=D("20"))
        agreements.append((agreement, product))
    return agreements


def _sum(queryset):
    return queryset.aggregate(total=Sum("amount"))["total"] or D("0")


def _check(agreement, paid_months_corrected_down):
    entries = LedgerEntry.objects.filter(agreement=agreement)
    by_kind = {kind: _sum(entries.filter(kind=kind)) for kind in LedgerEntry.Kind.values}
    balance = _sum(entries)
    assert balance == sum(by_kind.values())
    paid = -by_kind["payout"]
    settled = _sum(Settlement.objects.filter(agreement=agreement, status="paid"))
    assert paid == settled
    if agreement.status == "terminated":
        assert balance <= 0
    elif balance < 0:
        assert paid_months_corrected_down, f"{agreement.number}: unpaid balance {balance} with no clawback"


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(steps=steps)
def test_ledger_invariants_hold_over_random_sequences(steps):
    with transaction.atomic():
        finance = UserFactory(username="r1-finance", role=roles.FINANCE)
        book = _book()
        lines = []
        as_of = START
        clawback = set()
        for step in steps:
            action = step[0]
            if action == "ingest":
                _, which, months_back, quantity = step
                agreement, product = book[which]
                lines.append(PurchaseLine.objects.create(
                    erp_line_id=f"R1-{len(lines)}", customer=agreement.customer, product=product,
                    month=max(START, add_months(as_of.replace(day=1), -months_back)),
                    quantity=D(quantity), unit_price=D("10.00"),
                    amount=D(quantity) * D("10.00"),
                ))
            elif action == "correct" and lines:
                _, index, quantity = step
                line = lines[index % len(lines)]
                paid_through = Settlement.objects.filter(agreement__customer=line.customer, status="paid")
                if D(quantity) < line.quantity and paid_through.filter(period_end__gte=line.month).exists():
                    clawback.add(line.customer_id)
                line.quantity, line.amount = D(quantity), D(quantity) * D("10.00")
                line.save()
            elif action == "accrue":
                as_of = min(add_months(as_of, step[1]), add_months(START, 13))
                run = accrual_run_start(as_of=as_of, trigger="command", queue=False)
                assert accrual_run_perform(run_id=run.pk).status == "succeeded"
                full = accrual_run_start(as_of=as_of, full=True, trigger="command", queue=False)
                assert accrual_run_perform(run_id=full.pk).entries_count == 0, "full recompute disagrees"
            elif action == "terminate":
                agreement, _ = book[step[1]]
                agreement.refresh_from_db()
                if agreement.status in ("active", "expired"):
                    on = add_months(START, step[2]).replace(day=28)
                    if on >= as_of:
                        agreement_terminate(agreement=agreement, terminated_on=on, as_of=as_of)
                        assert _sum(LedgerEntry.objects.filter(agreement=agreement)) <= 0
            elif action == "settle":
                agreement, _ = book[step[1]]
                agreement.refresh_from_db()
                through = add_months(START, step[2])
                if agreement.status in ("active", "expired") and through <= as_of:
                    try:
                        settlement_interim(agreement=agreement, through=through, by=finance)
                    except SettlementError:
                        pass
            elif action == "pay":
                for settlement in Settlement.objects.filter(status="draft").order_by("pk"):
                    if settlement.amount <= 0:
                        continue
                    earned = _sum(LedgerEntry.objects.filter(agreement=settlement.agreement,
                                                             kind__in=["accrual", "catch_up", "adjustment"]))
                    paid = -_sum(LedgerEntry.objects.filter(agreement=settlement.agreement, kind="payout"))
                    assert settlement.amount <= earned - paid, "a payout would pay more than is unpaid"
                    settlement_approve(settlement=settlement, by=finance)
                    settlement_pay(settlement=settlement, by=finance, paid_on=as_of, payment_reference="CN")
            for agreement, _ in book:
                agreement = RebateAgreement.objects.get(pk=agreement.pk)
                _check(agreement, agreement.customer_id in clawback)
        transaction.set_rollback(True)
