"""R1: the ledger's invariants over random sequences of ingest, correct, move (a line to another customer,
product or month), delete, re-scope, move a product to another line, change a rule or a price, accrue,
terminate, settle and pay, lock and reopen a month, made through the paths users have: the services, the ORM
as the admin saves, the API, and raw SQL.

After every step an incremental run, then: each agreement's balance is the sum of its entries by kind; a
payout never pays more than was earned and unpaid when it was booked; the unpaid balance is never negative
except by a correction to a month that was already paid (carried into the next settlement); a terminated
agreement owes nothing; no entry lands in a month after it was locked (while it stays locked); and a full
recompute books nothing: per month an entry concerns, it agrees with the incremental ledger to the cent.
"""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers import roles
from rebates.engine.periods import add_months
from rebates.models import (
    AgreementBalance,
    LedgerEntry,
    PeriodLock,
    Product,
    PurchaseLine,
    RebateAgreement,
    RebateRule,
    Settlement,
    TierBand,
)
from rebates.services import (
    SettlementError,
    accrual_run_perform,
    accrual_run_start,
    agreement_terminate,
    contract_price_change,
    purchase_lines_ingest,
    settlement_approve,
    settlement_interim,
    settlement_pay,
)
from rebates.services.period_lock import PeriodLockConflict, period_lock, period_reopen
from tests.factories import AgreementFactory, ProductFactory, ProductLineFactory, UserFactory

START = datetime.date(2026, 1, 1)
D = Decimal

# The ways a user changes a purchase line: the API's ingest (upsert by erp_line_id), the ORM as the admin
# saves and deletes, and raw SQL that no application code sees.
PATHS = ("api", "admin", "sql")
# A purchase for the as-of month or up to five months before it: late lines meet months already booked.
ingest = st.tuples(st.just("ingest"), st.integers(0, 2), st.integers(0, 5), st.integers(-5, 400))
correct = st.tuples(st.just("correct"), st.integers(0, 50), st.integers(-5, 400), st.sampled_from(PATHS))
# A line moved to another agreement's customer, to another product, or to another month.
move = st.tuples(st.just("move"), st.integers(0, 50), st.sampled_from(["customer", "product", "month"]),
                 st.integers(0, 5), st.sampled_from(PATHS))
delete = st.tuples(st.just("delete"), st.integers(0, 50), st.sampled_from(["admin", "sql"]))
# An agreement's scope gains or loses a product, as the admin's form saves it.
rescope = st.tuples(st.just("rescope"), st.integers(0, 2), st.integers(0, 2))
# A product moved to the other product line, through the API or the admin.
reline = st.tuples(st.just("reline"), st.integers(0, 2), st.sampled_from(["api", "admin"]))
rule = st.tuples(st.just("rule"), st.integers(0, 2), st.sampled_from(["0.10", "0.25", "0.40", "2.50"]))
price = st.tuples(st.just("price"), st.integers(0, 2), st.integers(0, 11))
# Months the as-of date moves forward: often none, so late changes meet months already booked.
accrue = st.tuples(st.just("accrue"), st.sampled_from([0, 0, 1, 3]))
terminate = st.tuples(st.just("terminate"), st.integers(0, 2), st.integers(0, 11))
settle = st.tuples(st.just("settle"), st.integers(0, 2), st.integers(0, 11))
pay = st.tuples(st.just("pay"))
# Finance locks a month that has ended (one to four months before the as-of month), or reopens one.
lock = st.tuples(st.just("lock"), st.integers(1, 4))
reopen = st.tuples(st.just("reopen"), st.integers(1, 4))
steps = st.lists(st.one_of(ingest, ingest, correct, move, delete, rescope, reline, rule, price, accrue, accrue,
                           terminate, settle, pay, lock, lock, reopen), min_size=1, max_size=14)


def _scenario():
    """Three agreements of three rule kinds and frequencies. The first and the last name their product; the
    tiered one covers its product's line. Two product lines, so a product can move to the other one."""
    lines = [ProductLineFactory(code="r1-line-a"), ProductLineFactory(code="r1-line-b")]
    agreements = []
    for i, (kind, frequency) in enumerate((("per_unit", "annual"), ("tiered", "quarterly"), ("percent", "monthly"))):
        product = ProductFactory(sku=f"R1-P{i}", product_line=lines[i % 2])
        if kind == "tiered":
            agreement = AgreementFactory(settlement_frequency=frequency, number=f"R1-{i}")
            agreement.product_lines.set([product.product_line])
            rule = RebateRule.objects.create(agreement=agreement, kind="tiered", rate_type="percent",
                                             tier_basis="quantity", tier_method="retroactive", cap=D("900.00"))
            TierBand.objects.bulk_create([TierBand(rule=rule, threshold=D(t), rate=D(r))
                                          for t, r in ((0, 1), (500, 2), (1500, 4))])
        else:
            agreement = AgreementFactory(products=[product], settlement_frequency=frequency, number=f"R1-{i}")
            RebateRule.objects.create(agreement=agreement, kind=kind, rate_type=kind,
                                      rate=D("0.25") if kind == "per_unit" else D("1.75"), minimum=D("20"))
        agreements.append((agreement, product))
    return agreements, lines


def _api(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def _line_write(line, path, **fields):
    """Change a stored line's fields through one user path."""
    fields.setdefault("amount", fields["quantity"] * D("10.00") if "quantity" in fields else line.amount)
    if path == "api":
        values = {"erp_line_id": line.erp_line_id, "customer": line.customer.code, "product": line.product.sku,
                  "month": line.month, "quantity": line.quantity, "unit_price": line.unit_price,
                  "amount": line.amount}
        for name, value in fields.items():
            values[name] = {"customer": lambda c: c.code, "product": lambda p: p.sku}.get(name, lambda v: v)(value)
        purchase_lines_ingest(lines=[values], source="api")
    elif path == "admin":
        for name, value in fields.items():
            setattr(line, name, value)
        line.save()
    else:
        columns = {f"{name}_id" if name in ("customer", "product") else name:
                   getattr(value, "pk", value) for name, value in fields.items()}
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE rebates_purchaseline SET {', '.join(f'{c} = %s' for c in columns)} "
                           f"WHERE id = %s", [*columns.values(), line.pk])


def _sum(queryset):
    return queryset.aggregate(total=Sum("amount"))["total"] or D("0")


def _check(agreement, paid_months_corrected_down):
    entries = LedgerEntry.objects.filter(agreement=agreement)
    by_kind = {kind: _sum(entries.filter(kind=kind)) for kind in LedgerEntry.Kind.values}
    balance = _sum(entries)
    assert balance == sum(by_kind.values())
    # The balance kept beside the ledger (what finance's figures read) equals the sums of the entries.
    kept = AgreementBalance.objects.filter(agreement=agreement).first()
    earned = by_kind["accrual"] + by_kind["catch_up"] + by_kind["adjustment"]
    assert ((kept.accrued, kept.paid, kept.forfeited, kept.unpaid) if kept else (D("0"),) * 4) == (
        earned, -by_kind["payout"], -by_kind["forfeiture"], balance)
    paid = -by_kind["payout"]
    settled = _sum(Settlement.objects.filter(agreement=agreement, status="paid"))
    assert paid == settled
    if agreement.status == "terminated":
        assert balance <= 0
    elif balance < 0:
        assert paid_months_corrected_down, f"{agreement.number}: unpaid balance {balance} with no clawback"


def _clawback_if_paid(clawback, customers):
    """A change that can lower months of these customers' agreements already paid: their unpaid balance may
    go negative, carried into the next settlement."""
    for customer_id in customers:
        if Settlement.objects.filter(agreement__customer_id=customer_id, status="paid").exists():
            clawback.add(customer_id)


@pytest.mark.django_db
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(steps=steps)
def test_ledger_invariants_hold_over_random_sequences(steps):
    with transaction.atomic():
        finance = UserFactory(username="r1-finance", role=roles.FINANCE)
        payer = UserFactory(username="r1-payer", role=roles.FINANCE)
        erp = UserFactory(username="r1-erp", role=roles.ERP_INTEGRATION)
        scenario, product_lines = _scenario()
        customers = [agreement.customer for agreement, _ in scenario]
        products = [product for _, product in scenario]
        lines = []
        as_of = START
        clawback = set()
        # Each month locked now, with the last entry id when it was locked: no later entry may land in it.
        locked: dict = {}
        for step in steps:
            action = step[0]
            if action == "ingest":
                _, which, months_back, quantity = step
                agreement, product = scenario[which]
                lines.append(PurchaseLine.objects.create(
                    erp_line_id=f"R1-{len(lines)}", customer=agreement.customer, product=product,
                    month=max(START, add_months(as_of.replace(day=1), -months_back)),
                    quantity=D(quantity), unit_price=D("10.00"),
                    amount=D(quantity) * D("10.00"),
                ))
            elif action == "correct" and lines:
                _, index, quantity, path = step
                line = lines[index % len(lines)]
                if PurchaseLine.objects.filter(pk=line.pk).exists():
                    line.refresh_from_db()
                    if D(quantity) < line.quantity:
                        _clawback_if_paid(clawback, [line.customer_id])
                    _line_write(line, path, quantity=D(quantity))
            elif action == "move" and lines:
                _, index, where, n, path = step
                line = lines[index % len(lines)]
                if PurchaseLine.objects.filter(pk=line.pk).exists():
                    line.refresh_from_db()
                    _clawback_if_paid(clawback, {line.customer_id, *(c.pk for c in customers)})
                    target = {"customer": customers[n % 3], "product": products[n % 3],
                              "month": max(START, add_months(as_of.replace(day=1), -n))}[where]
                    _line_write(line, path, **{where: target})
            elif action == "delete" and lines:
                _, index, path = step
                line = lines[index % len(lines)]
                if PurchaseLine.objects.filter(pk=line.pk).exists():
                    _clawback_if_paid(clawback, [line.customer_id])
                    if path == "admin":
                        PurchaseLine.objects.get(pk=line.pk).delete()
                    else:
                        with connection.cursor() as cursor:
                            cursor.execute("DELETE FROM rebates_purchaseline WHERE id = %s", [line.pk])
            elif action == "rescope":
                _, which, other = step
                agreement, _ = scenario[which]
                _clawback_if_paid(clawback, [agreement.customer_id])
                scope = agreement.products
                if scope.filter(pk=products[other].pk).exists():
                    scope.remove(products[other])
                else:
                    scope.add(products[other])
            elif action == "reline":
                _, which, path = step
                product = Product.objects.get(pk=products[which].pk)
                _clawback_if_paid(clawback, [c.pk for c in customers])
                to = product_lines[1] if product.product_line_id == product_lines[0].pk else product_lines[0]
                if path == "api":
                    response = _api(erp).patch(f"/api/v1/products/{product.sku}/", {"product_line": to.code},
                                               format="json")
                    assert response.status_code == 200, response.content
                else:
                    product.product_line = to
                    product.save()
            elif action == "rule":
                _, which, rate = step
                agreement, _ = scenario[which]
                _clawback_if_paid(clawback, [agreement.customer_id])
                rule = RebateRule.objects.get(agreement=agreement)
                if rule.kind == "tiered":
                    # The admin's band inline saves the band alone.
                    band = TierBand.objects.get(rule=rule, threshold=D("500"))
                    band.rate = D(rate)
                    band.save()
                else:
                    rule.rate = D(rate)
                    rule.save()
            elif action == "price":
                agreement, product = scenario[step[1]]
                agreement.refresh_from_db()
                if not agreement.prices.filter(product=product, effective_from=add_months(START, step[2])).exists():
                    try:
                        contract_price_change(user=None, agreement=agreement, product=product,
                                              net_unit_price=D("9.50"), effective_month=add_months(START, step[2]),
                                              reason="matched market signal")
                    except ValidationError:
                        pass  # re-scoped away: the price is refused, as it would be to a user
            elif action == "lock":
                month = add_months(as_of.replace(day=1), -step[1])
                if month >= START:
                    try:
                        period_lock(month=month, by=finance, today=as_of)
                    except PeriodLockConflict:
                        assert month in locked
                    else:
                        locked[month] = LedgerEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            elif action == "reopen":
                month = add_months(as_of.replace(day=1), -step[1])
                try:
                    period_reopen(month=month, reason="restated", by=finance)
                except PeriodLockConflict:
                    assert month not in locked
                else:
                    locked.pop(month)
            elif action == "accrue":
                as_of = min(add_months(as_of, step[1]), add_months(START, 13))
            elif action == "terminate":
                agreement, _ = scenario[step[1]]
                agreement.refresh_from_db()
                if agreement.status in ("active", "expired"):
                    on = add_months(START, step[2]).replace(day=28)
                    if on >= as_of:
                        agreement_terminate(agreement=agreement, terminated_on=on, as_of=as_of)
                        assert _sum(LedgerEntry.objects.filter(agreement=agreement)) <= 0
            elif action == "settle":
                agreement, _ = scenario[step[1]]
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
                    settlement_pay(settlement=settlement, by=payer, paid_on=as_of, payment_reference="CN")
            # After every step: the nightly incremental run, then a full recompute that must book nothing.
            run = accrual_run_start(as_of=as_of, trigger="command", queue=False)
            assert accrual_run_perform(run_id=run.pk).status == "succeeded"
            full = accrual_run_start(as_of=as_of, full=True, trigger="command", queue=False)
            assert accrual_run_perform(run_id=full.pk).entries_count == 0, f"full recompute disagrees after {step}"
            for agreement, _ in scenario:
                agreement = RebateAgreement.objects.get(pk=agreement.pk)
                _check(agreement, agreement.customer_id in clawback)
            # Nothing was booked into a month once it was locked: it went to the first open month after it.
            assert set(PeriodLock.objects.filter(reopened_at__isnull=True).values_list("month", flat=True)) == set(
                locked)
            for month, last_before in locked.items():
                landed = LedgerEntry.objects.filter(period=month, pk__gt=last_before)
                assert not landed.exists(), f"{landed.first()} booked into locked {month:%Y-%m} after {step}"
            assert not LedgerEntry.objects.filter(concerns__gt=F("period")).exists()
        transaction.set_rollback(True)
