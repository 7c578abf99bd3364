"""The newer rule kinds recomputed in part: after late lines and credit notes (the agreement's own and its referred
customer's), the nightly run recomputes only the months they mark, and books what a full recompute of the whole
term would (the ledger equals the engine's expected months, and a --full afterwards books nothing). Each kind, with
and without a minimum (with one, the clearance and referral kinds go through the engine, not the flat path)."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rebates.engine.periods import add_months, month_of
from rebates.models import EARNED_KINDS, AccrualChunk, LedgerEntry, RebateRule
from rebates.terms import agreement_inputs, expected_ledger
from tests.factories import (
    AgreementFactory,
    CustomerFactory,
    ProductFactory,
    ProductLineFactory,
    PurchaseLineFactory,
)
from tests.ledger import accrue

pytestmark = pytest.mark.django_db

D = Decimal
FIRST = datetime.date(2025, 7, 1)
AS_OF = datetime.date(2026, 9, 30)  # the fifteenth month from FIRST

KINDS = ("clearance", "mix", "condition", "referral")
# (who buys: own or referred, which product: 0 regular, 1 on clearance, 2 of the second product line), a month
# from FIRST, units with three places (credit notes among them), a price with four.
purchase = st.tuples(st.booleans(), st.integers(0, 2), st.integers(0, 14),
                     st.integers(-20_000, 400_000).map(lambda n: D(n) / 1000),
                     st.integers(1, 500_000).map(lambda n: D(n) / 10_000))
agreement = st.tuples(st.sampled_from(KINDS), st.booleans(), st.sampled_from(["annual", "quarterly", "monthly"]),
                      st.integers(0, 3), st.lists(purchase, max_size=10))


def _make(spec):
    kind, minimum, frequency, start, lines = spec
    first_line, second_line = ProductLineFactory(), ProductLineFactory()
    products = (ProductFactory(product_line=first_line),
                ProductFactory(product_line=first_line, clearance_from=add_months(FIRST, 3),
                               clearance_until=add_months(FIRST, 8)),
                ProductFactory(product_line=second_line))
    start_month = add_months(FIRST, start)
    agreement = AgreementFactory(products=list(products), start_month=start_month,
                                 end_month=add_months(start_month, 11), settlement_frequency=frequency)
    settings_of_kind = {
        "clearance": {"clearance_rate": D("3")},
        "mix": {"min_product_lines": 2},
        "condition": {"active_months": 2, "active_window": 3},
        "referral": {},
    }[kind]
    RebateRule.objects.create(agreement=agreement, kind=kind, rate_type="percent", rate=D("2.5"),
                              minimum=D("200") if minimum else None, **settings_of_kind)
    referred = CustomerFactory(referred_by=agreement.customer, referral_from=add_months(FIRST, 2), referral_months=6)
    made = (agreement, referred, products)
    for line in lines:
        _buy(made, *line)
    return made


def _buy(made, by_referred, which, offset, quantity, price):
    agreement, referred, products = made
    PurchaseLineFactory(customer=referred if by_referred else agreement.customer, product=products[which],
                        month=add_months(FIRST, offset), quantity=quantity, unit_price=price,
                        amount=(quantity * price).quantize(D("0.01")))


def _differences(agreements):
    """(agreement, month, ledger, engine) wherever the ledger's earned entries differ from a whole recompute."""
    expected = expected_ledger(agreement_inputs([a.pk for a in agreements]), as_of=AS_OF)
    found = []
    for agreement in agreements:
        held = {period: (quantity, eligible, amount) for period, quantity, eligible, amount in
                LedgerEntry.objects.filter(agreement=agreement, kind__in=EARNED_KINDS, period__lte=month_of(AS_OF))
                .values_list("period").annotate(Sum("quantity"), Sum("eligible_amount"), Sum("amount"))}
        want = {result.month: (result.quantity, result.eligible_amount, result.amount)
                for result in expected[agreement.pk]}
        for month in sorted(set(held) | set(want)):
            have, should = held.get(month, (0, 0, 0)), want.get(month, (0, 0, 0))
            if have != should:
                found.append((agreement.number, month, have, should))
    return found


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(specs=st.lists(agreement, min_size=1, max_size=5), late=st.lists(st.tuples(st.integers(0, 4), purchase),
                                                                         min_size=1, max_size=6))
def test_each_newer_kind_recomputed_in_part_books_what_a_full_recompute_would(specs, late):
    with transaction.atomic():
        made = [_make(spec) for spec in specs]
        agreements = [agreement for agreement, _, _ in made]
        accrue(AS_OF, full=True)
        assert _differences(agreements) == []
        for index, line in late:
            _buy(made[index % len(made)], *line)
        run = accrue(AS_OF)
        # The late lines' agreements were recomputed in part (their months only), not over the whole term.
        in_part = {int(pk) for chunk in AccrualChunk.objects.filter(run=run) for pk in chunk.changed_months}
        whole = {pk for chunk in AccrualChunk.objects.filter(run=run) for pk in chunk.agreement_ids} - in_part
        assert not whole & {a.pk for a in agreements}
        own_late = {agreement.pk for index, (by_referred, _, offset, _, _) in late
                    for agreement in [made[index % len(made)][0]]
                    if not by_referred and agreement.start_month <= add_months(FIRST, offset) <= agreement.end_month}
        assert own_late <= in_part
        assert _differences(agreements) == []
        assert accrue(AS_OF, full=True).entries_count == 0
        transaction.set_rollback(True)
