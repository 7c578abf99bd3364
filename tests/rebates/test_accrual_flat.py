"""Flat rules (per unit or percent, no minimum, cap, bonus or commitment rule in force) are booked by the
database in one statement per chunk (rebates/sql/accrual_flat.py), every other rule through the engine: on
random agreements (some of buying groups: members joining and leaving mid-period, their lines in and out of
their membership, the group's own lines), whole runs, late lines and credit notes recomputed in part, a
membership moved, and a --full afterwards, the ledger holds to the cent what the engine expects of every
month."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import GroupMembership, member_in
from rebates.engine.periods import add_months, month_of
from rebates.models import EARNED_KINDS, LedgerEntry, Product, PurchaseLine, RebateRule
from rebates.services import accrual, accrual_run_perform, accrual_run_start
from rebates.terms import agreement_inputs, expected_ledger
from tests.factories import AgreementFactory, CustomerFactory, ProductFactory, PurchaseLineFactory

pytestmark = pytest.mark.django_db

D = Decimal
FIRST = datetime.date(2025, 7, 1)
SIX_PLACES = D("0.000001")

# Rates with up to six places (the rate field's), per unit up to $5, percent up to 20 %.
per_unit = st.tuples(st.just("per_unit"), st.integers(1, 5_000_000).map(lambda n: D(n) * SIX_PLACES))
percent = st.tuples(st.just("percent"), st.integers(1, 20_000_000).map(lambda n: D(n) * SIX_PLACES))
# Now and then a setting that makes the rule not flat: the engine books it.
extra = st.sampled_from(["", "", "", "minimum", "cap", "commitment", "commitment_off"])
# Quantities with three places, credit notes among them; prices with four.
line = st.tuples(st.integers(-2, 27), st.integers(-20_000, 500_000).map(lambda n: D(n) / 1000),
                 st.integers(1, 900_000).map(lambda n: D(n) / 10_000))
# A buying group's member: the month it joined, how many months it stayed (None: still a member) and its
# lines, some of them outside its membership.
member = st.tuples(st.integers(-2, 20), st.one_of(st.none(), st.integers(1, 12)), st.lists(line, max_size=6))
# Now and then the agreement's customer is a buying group (its own lines are then the group's own).
group = st.one_of(st.none(), st.none(), st.lists(member, min_size=0, max_size=3))
agreement = st.tuples(st.one_of(per_unit, percent), extra, st.sampled_from(["annual", "quarterly", "monthly"]),
                      st.integers(0, 11), st.integers(1, 24), st.lists(line, max_size=12), group)
as_of = st.integers(0, 30).map(lambda n: add_months(FIRST, n) + datetime.timedelta(days=27))
# Late lines: for which agreement, and whose (0 its customer's, n its group's n-th member's when it has one).
late = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), line), max_size=6)
# Between runs, the first group's first member leaves (or returns) in that many months from joining.
leave = st.one_of(st.none(), st.integers(1, 12))


def _make(spec):
    (kind, rate), extra, frequency, start, length, lines, members = spec
    product = ProductFactory()
    start_month = add_months(FIRST, start)
    agreement = AgreementFactory(customer=CustomerFactory(is_group=members is not None), products=[product],
                                 start_month=start_month, end_month=add_months(start_month, length - 1),
                                 settlement_frequency=frequency,
                                 committed_monthly_quantity=D("50") if extra.startswith("commitment") else None)
    RebateRule.objects.create(agreement=agreement, kind=kind, rate_type=kind, rate=rate,
                              minimum=D("100") if extra == "minimum" else None,
                              cap=D("250.00") if extra == "cap" else None,
                              commitment_rule=extra == "commitment")
    for offset, quantity, price in lines:
        _buy(agreement.customer, product, offset, quantity, price)
    buyers = [agreement.customer]
    for joined, months, member_lines in members or ():
        customer = CustomerFactory()
        GroupMembership.objects.create(group=agreement.customer, member=customer, joined=add_months(FIRST, joined),
                                       ended=None if months is None else add_months(FIRST, joined + months))
        for offset, quantity, price in member_lines:
            _buy(customer, product, offset, quantity, price)
        buyers.append(customer)
    return agreement, product, buyers


def _buy(customer, product, offset, quantity, price):
    PurchaseLineFactory(customer=customer, product=product, month=add_months(FIRST, offset),
                        quantity=quantity, unit_price=price, amount=(quantity * price).quantize(D("0.01")))


def _accrue(as_of, full=False):
    run = accrual_run_start(as_of=as_of, full=full, trigger="command", queue=False)
    return accrual_run_perform(run_id=run.pk, close_settlements=False)


def _differences(agreements, as_of):
    """(agreement, month, ledger, engine) wherever the ledger's earned entries differ from the engine's month."""
    expected = expected_ledger(agreement_inputs([a.pk for a in agreements]), as_of=as_of)
    found = []
    for agreement in agreements:
        held = {period: (quantity, eligible, amount) for period, quantity, eligible, amount in
                LedgerEntry.objects.filter(agreement=agreement, kind__in=EARNED_KINDS, period__lte=month_of(as_of))
                .values_list("period").annotate(Sum("quantity"), Sum("eligible_amount"), Sum("amount"))}
        want = {result.month: (result.quantity, result.eligible_amount, result.amount)
                for result in expected[agreement.pk]}
        for month in sorted(set(held) | set(want)):
            have, should = held.get(month, (0, 0, 0)), want.get(month, (0, 0, 0))
            if have != should:
                found.append((agreement.number, month, have, should))
    return found


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(specs=st.lists(agreement, min_size=1, max_size=6), first=as_of, late=late, leave=leave, second=as_of)
def test_flat_rules_booked_by_the_database_agree_with_the_engine_to_the_cent(specs, first, late, leave, second):
    with transaction.atomic():
        made = [_make(spec) for spec in specs]
        agreements = [a for a, _, _ in made]
        _accrue(first)
        assert _differences(agreements, first) == []
        # Late lines and credit notes (of a group's members too): the next run recomputes the months they fall
        # in, in part; a member leaving or returning: the group's agreement, whole.
        for index, who, (offset, quantity, price) in late:
            _, product, buyers = made[index % len(made)]
            _buy(buyers[who % len(buyers)], product, offset, quantity, price)
        moved = GroupMembership.objects.filter(group__in=[a.customer for a in agreements]).order_by("pk").first()
        if moved is not None and leave is not None:
            GroupMembership.objects.filter(pk=moved.pk).update(
                ended=add_months(moved.joined, leave) if moved.ended is None else None)
        _accrue(first)
        assert _differences(agreements, first) == []
        _accrue(second)
        assert _differences(agreements, second) == []
        assert _accrue(second, full=True).entries_count == 0
        assert _booked_volumes(agreements, second) == _volumes(agreements, second)
        transaction.set_rollback(True)


def _booked_volumes(agreements, as_of):
    """Per agreement and month, the units its earned entries hold (where not zero)."""
    return {(agreement_id, month): quantity for agreement_id, month, quantity in
            LedgerEntry.objects.filter(agreement__in=agreements, kind__in=EARNED_KINDS, concerns__lte=month_of(as_of))
            .values_list("agreement", "concerns").annotate(Sum("quantity")) if quantity}


def _volumes(agreements, as_of):
    """The same from the purchase lines, read in Python: the customer's own lines in the term and, for a group,
    its members' in the months they were members (the rule as customers.models.member_in states it)."""
    found = {}
    for agreement in agreements:
        buyers = {agreement.customer_id: [(datetime.date.min, None)]}
        for membership in GroupMembership.objects.filter(group=agreement.customer):
            buyers.setdefault(membership.member_id, []).append((membership.joined, membership.ended))
        last = min(agreement.end_month, month_of(as_of))
        for line in PurchaseLine.objects.filter(customer__in=buyers, month__gte=agreement.start_month,
                                                month__lte=last):
            if any(member_in(joined, ended, line.month) for joined, ended in buyers[line.customer_id]):
                key = (agreement.pk, line.month)
                found[key] = found.get(key, 0) + line.quantity
    return {key: quantity for key, quantity in found.items() if quantity}


def test_only_rules_that_are_not_flat_go_through_the_engine(monkeypatch):
    flat, _, _ = _make((("per_unit", D("0.25")), "", "annual", 6, 12, [(6, D("10"), D("12.10"))], None))
    capped, _, _ = _make((("percent", D("2")), "cap", "annual", 6, 12, [(6, D("10"), D("12.10"))], None))
    seen = []
    real = accrual.agreement_inputs
    monkeypatch.setattr(accrual, "agreement_inputs", lambda ids: seen.extend(ids) or real(ids))
    run = _accrue(datetime.date(2026, 6, 30))
    assert seen == [capped.pk]
    assert (run.agreements_count, run.entries_count) == (2, 2)
    assert LedgerEntry.objects.get(agreement=flat).amount == D("2.50")
    assert LedgerEntry.objects.get(agreement=capped).amount == D("2.42")


# The clearance and referral kinds, flat too: each agreement covers a regular and a clearance product (its window
# drawn); one customer it referred (its referral window drawn) buys them as well. Lines name who buys what: the
# agreement's customer or the referred one, the regular or the clearance product.
second_kind = st.tuples(st.sampled_from(["clearance", "referral"]), percent.map(lambda kind_rate: kind_rate[1]),
                        st.integers(0, 20).map(D))
window = st.tuples(st.integers(-2, 27), st.integers(1, 8))
bought = st.tuples(st.booleans(), st.booleans(), line)
kind_agreement = st.tuples(second_kind, st.sampled_from(["", "", "", "minimum", "cap"]),
                           st.sampled_from(["annual", "quarterly", "monthly"]), st.integers(0, 11),
                           st.integers(1, 24), window, window, st.lists(bought, max_size=12))
kind_late = st.lists(st.tuples(st.integers(0, 5), bought), max_size=6)


def _make_kind(spec):
    (kind, rate, clearance_rate), extra, frequency, start, length, (cleared_from, cleared_months), \
        (referred_from, referred_months), lines = spec
    regular = ProductFactory()
    cleared = ProductFactory(clearance_from=add_months(FIRST, cleared_from),
                             clearance_until=add_months(FIRST, cleared_from + cleared_months - 1))
    start_month = add_months(FIRST, start)
    agreement = AgreementFactory(products=[regular, cleared], start_month=start_month,
                                 end_month=add_months(start_month, length - 1), settlement_frequency=frequency)
    RebateRule.objects.create(agreement=agreement, kind=kind, rate_type="percent", rate=rate,
                              clearance_rate=clearance_rate if kind == "clearance" else None,
                              minimum=D("100") if extra == "minimum" else None,
                              cap=D("250.00") if extra == "cap" else None)
    referred = CustomerFactory(referred_by=agreement.customer, referral_from=add_months(FIRST, referred_from),
                               referral_months=referred_months)
    made = (agreement, referred, regular, cleared)
    for by_referred, on_clearance, (offset, quantity, price) in lines:
        _buy_kind(made, by_referred, on_clearance, offset, quantity, price)
    return made


def _buy_kind(made, by_referred, on_clearance, offset, quantity, price):
    agreement, referred, regular, cleared = made
    PurchaseLineFactory(customer=referred if by_referred else agreement.customer,
                        product=cleared if on_clearance else regular, month=add_months(FIRST, offset),
                        quantity=quantity, unit_price=price, amount=(quantity * price).quantize(D("0.01")))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(specs=st.lists(kind_agreement, min_size=1, max_size=5), first=as_of, late=kind_late, moved=st.booleans(),
       second=as_of)
def test_clearance_and_referral_rules_booked_by_the_database_agree_with_the_engine(specs, first, late, moved,
                                                                                   second):
    with transaction.atomic():
        made = [_make_kind(spec) for spec in specs]
        agreements = [agreement for agreement, *_ in made]
        _accrue(first)
        assert _differences(agreements, first) == []
        # Late lines and credit notes, the referred customer's among them, and (sometimes) every clearance window
        # moved a month on: the next run recomputes the months they mark, in part.
        for index, (by_referred, on_clearance, (offset, quantity, price)) in late:
            _buy_kind(made[index % len(made)], by_referred, on_clearance, offset, quantity, price)
        if moved:
            for _, _, _, cleared in made:
                Product.objects.filter(pk=cleared.pk).update(clearance_from=add_months(cleared.clearance_from, 1),
                                                             clearance_until=add_months(cleared.clearance_until, 1))
        _accrue(first)
        assert _differences(agreements, first) == []
        _accrue(second)
        assert _differences(agreements, second) == []
        assert _accrue(second, full=True).entries_count == 0
        transaction.set_rollback(True)


def test_clearance_and_referral_rules_with_nothing_else_are_flat(monkeypatch):
    cleared_spec = (("clearance", D("1"), D("3")), "", "quarterly", 6, 12, (7, 2), (0, 1),
                    [(False, False, (6, D("10"), D("10"))), (False, True, (7, D("10"), D("10")))])
    referral_spec = (("referral", D("2"), D("0")), "", "quarterly", 6, 12, (0, 1), (6, 3),
                     [(False, False, (6, D("10"), D("10"))), (True, False, (7, D("10"), D("10")))])
    capped_spec = (("referral", D("2"), D("0")), "cap", "quarterly", 6, 12, (0, 1), (6, 3),
                   [(True, False, (7, D("10"), D("10")))])
    (cleared, *_), (referral, *_), (capped, *_) = map(_make_kind, (cleared_spec, referral_spec, capped_spec))
    seen = []
    real = accrual.agreement_inputs
    monkeypatch.setattr(accrual, "agreement_inputs", lambda ids: seen.extend(ids) or real(ids))
    _accrue(datetime.date(2026, 6, 30))
    assert seen == [capped.pk]
    # 1% of $200, and 3% more of August's $100 on clearance; 2% of the referred customer's $100, none of the own.
    assert _booked_total(cleared) == D("5.00")
    assert _booked_total(referral) == D("2.00")
    assert _booked_total(capped) == D("2.00")


def _booked_total(agreement):
    return LedgerEntry.objects.filter(agreement=agreement).aggregate(total=Sum("amount"))["total"]


def test_an_incremental_run_books_its_flat_agreements_in_chunks_of_their_own(monkeypatch, settings):
    settings.ACCRUAL_CHUNK_SIZE = 1
    made = [_make((("per_unit", D("0.25")), extra, "quarterly", 6, 12, [(6, D("10"), D("12.10"))], None))
            for extra in ("", "cap", "", "minimum", "")]
    agreements = [agreement for agreement, _, _ in made]
    _accrue(datetime.date(2026, 6, 30))
    for _, product, buyers in made:
        _buy(buyers[0], product, 7, D("4"), D("12.10"))  # a late line in each: all recomputed in part
    statements = []
    real = accrual.flat_sql.flat_bookings
    monkeypatch.setattr(accrual.flat_sql, "flat_bookings",
                        lambda **kwargs: statements.append(sorted(kwargs["agreement_ids"])) or real(**kwargs))
    run = accrual_run_start(as_of=datetime.date(2026, 6, 30), trigger="command", queue=False)
    chunk_ids = accrual.accrual_run_prepare(run_id=run.pk)
    flat = [agreements[i].pk for i in (0, 2, 4)]
    engine = [agreements[i].pk for i in (1, 3)]
    # The three flat ones in one chunk (up to FLAT_CHUNK_FACTOR x the size), then one for each of the engine's.
    assert [chunk.agreement_ids for chunk in run.chunks.order_by("number")] == [flat, engine[:1], engine[1:]]
    # Between preparing and booking, a flat rule gets a cap and a capped one loses it: the engine books the
    # first from its flat chunk, the statement the second from the engine's.
    RebateRule.objects.filter(agreement=agreements[2]).update(cap=D("250.00"))
    RebateRule.objects.filter(agreement=agreements[1]).update(cap=None)
    for chunk_id in chunk_ids:
        accrual.accrual_chunk_book(chunk_id=chunk_id)
    assert statements == [[flat[0], flat[2]], [engine[0]]]  # the third chunk has no flat rule: no statement
    assert _differences(agreements, datetime.date(2026, 6, 30)) == []
    assert _accrue(datetime.date(2026, 6, 30), full=True).entries_count == 0
