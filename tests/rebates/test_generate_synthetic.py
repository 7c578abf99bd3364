"""generate_synthetic: synthetic data of the size asked, whose agreements are valid and whose purchases match them."""

import datetime
from collections import defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from customers.models import Customer, Segment
from customers.roles import ACCOUNT_MANAGER
from rebates import engine, synthetic
from rebates.models import (
    ContractPrice,
    LineDiscount,
    Product,
    ProductLine,
    PurchaseLine,
    RebateAgreement,
    RebateProgram,
    RebateRule,
)
from tests.factories import LedgerEntryFactory

pytestmark = pytest.mark.django_db

SIZES = {"customers": 50, "agreements": 80, "products": 20, "lines": 3000}
SYNTHETIC_MONTHS = [datetime.date(2025 + i // 12, i % 12 + 1, 1) for i in range(24)]


def generate(*args, **options):
    out = StringIO()
    call_command("generate_synthetic", *args, **{**SIZES, **options}, stdout=out)
    return out.getvalue()


@pytest.fixture
def summary():
    return generate()


def synthetic_lines():
    return list(PurchaseLine.objects.filter(erp_line_id__startswith="BK-").order_by("erp_line_id").values_list(
        "erp_line_id", "customer__code", "product__sku", "month", "quantity", "unit_price", "amount"))


def covered_products(agreement):
    return {p.pk for p in agreement.products.all()} | {
        p.pk for line in agreement.product_lines.all() for p in line.products.all()}


def engine_rule(rule):
    return engine.RebateRule(
        kind=rule.kind, rate=rule.rate, rate_type=rule.rate_type,
        bands=tuple(engine.Band(band.threshold, band.rate) for band in rule.bands.all()),
        tier_basis=rule.tier_basis, tier_method=rule.tier_method, baseline=rule.baseline,
        baseline_amount=rule.baseline_amount, minimum=rule.minimum, cap=rule.cap,
        commitment_rule=rule.commitment_rule, active_months=rule.active_months, active_window=rule.active_window,
        clearance_rate=rule.clearance_rate, min_product_lines=rule.min_product_lines, focus_line=rule.focus_line_id,
        focus_share=rule.focus_share,
    )


def test_generates_exactly_the_rows_asked_for(summary):
    assert Customer.objects.filter(code__startswith="BK-").count() == 50
    assert RebateAgreement.objects.filter(number__startswith="BK-").count() == 80
    assert Product.objects.filter(sku__startswith="BK-").count() == 20
    assert PurchaseLine.objects.filter(erp_line_id__startswith="BK-").count() == 3000
    assert Segment.objects.filter(code__startswith="bk-").count() == 4
    assert ProductLine.objects.filter(code__startswith="bk-").count() == 20
    assert RebateProgram.objects.filter(code__startswith="bk-").count() == len(synthetic.RULE_MIX) + 1
    assert "generated 50 customers, 80 agreements, 20 products, 3,000 purchase lines in" in summary


def test_managers_are_account_managers_and_share_the_customers():
    generate(managers=3)
    managers = get_user_model().objects.filter(username__startswith="bk.am")
    assert managers.count() == 3
    assert all(list(m.groups.values_list("name", flat=True)) == [ACCOUNT_MANAGER] for m in managers)
    assert sorted(m.managed_customers.count() for m in managers) == [16, 17, 17]


def test_every_agreement_has_a_rule_a_contract_price_and_a_scope(summary):
    agreements = RebateAgreement.objects.filter(number__startswith="BK-").prefetch_related(
        "products", "product_lines__products")
    for agreement in agreements:
        assert agreement.status == "active"
        assert agreement.start_month <= agreement.end_month
        assert agreement.start_month in SYNTHETIC_MONTHS and agreement.end_month in SYNTHETIC_MONTHS
        assert RebateRule.objects.filter(agreement=agreement).exists()
        # Each named product its own price; each line of the scope a discount off list price.
        prices = list(ContractPrice.objects.filter(agreement=agreement))
        assert {price.product_id for price in prices} == {p.pk for p in agreement.products.all()}
        assert all((price.effective_from, price.reason) == (agreement.start_month, "Contract price")
                   and price.net_price > 0 for price in prices)
        discounts = list(LineDiscount.objects.filter(agreement=agreement))
        assert {d.product_line_id for d in discounts} == {line.pk for line in agreement.product_lines.all()}
        assert all(0 < d.discount_percent < 100 for d in discounts)
        assert covered_products(agreement)


def test_agreements_run_for_twelve_months_and_renew_for_the_next_twelve(summary):
    terms = defaultdict(list)
    for customer, start, end in RebateAgreement.objects.filter(number__startswith="BK-").values_list(
            "customer__code", "start_month", "end_month"):
        terms[customer].append((start, end))
    first_year, second_year = (datetime.date(2025, 1, 1), datetime.date(2025, 12, 1)), (
        datetime.date(2026, 1, 1), datetime.date(2026, 12, 1))
    assert len(terms) == 50
    assert all(sorted(customer_terms)[:2] == [first_year, second_year][:len(customer_terms)]
               for customer_terms in terms.values())


def test_every_rule_passes_the_engine_validation(summary):
    rules = RebateRule.objects.filter(agreement__number__startswith="BK-").select_related(
        "agreement").prefetch_related("bands")
    for rule in rules:
        agreement = rule.agreement
        engine.AgreementTerms(
            start_month=agreement.start_month, end_month=agreement.end_month, rule=engine_rule(rule),
            settlement_frequency=agreement.settlement_frequency,
            committed_monthly_quantity=agreement.committed_monthly_quantity,
        )
    # The synthetic data draws kinds of its mix, and its mix names the engine's kinds.
    assert set(rules.values_list("kind", flat=True)) <= set(synthetic.RULE_MIX) <= set(engine.RULE_KINDS)


def test_most_lines_match_an_agreement_and_some_do_not(summary):
    agreements = RebateAgreement.objects.filter(number__startswith="BK-").prefetch_related(
        "products", "product_lines__products")
    scopes = defaultdict(list)
    for agreement in agreements:
        scopes[agreement.customer_id].append((agreement.start_month, agreement.end_month, covered_products(agreement)))
    lines = PurchaseLine.objects.filter(erp_line_id__startswith="BK-").values_list("customer_id", "product_id", "month")
    matched = sum(
        any(start <= month <= end and product in covered for start, end, covered in scopes[customer])
        for customer, product, month in lines)
    assert 0.90 * 3000 <= matched < 3000


def test_lines_are_priced_in_cents_and_some_are_credit_notes(summary):
    lines = PurchaseLine.objects.filter(erp_line_id__startswith="BK-")
    for line in lines:
        assert line.erp_line_id.startswith("BK-") and line.source == "api"
        assert line.month in SYNTHETIC_MONTHS
        assert line.quantity != 0 and line.quantity <= 500
        assert line.unit_price > 0
        assert line.amount == (line.quantity * line.unit_price).quantize(Decimal("0.01"))
    credit_notes = lines.filter(quantity__lt=0)
    assert credit_notes.exists()
    assert not credit_notes.filter(amount__gte=0).exists()
    assert lines.filter(erp_line_id="BK-0000001").exists()


def test_a_second_run_without_replace_is_refused(summary):
    with pytest.raises(CommandError, match="--replace"):
        generate()
    assert PurchaseLine.objects.filter(erp_line_id__startswith="BK-").count() == 3000


def test_the_same_seed_gives_the_same_lines():
    generate(seed=7)
    first = synthetic_lines()
    generate(seed=7, replace=True)
    assert synthetic_lines() == first
    generate(seed=8, replace=True)
    assert synthetic_lines() != first


def test_replace_is_refused_once_accruals_are_booked_on_synthetic_data(summary):
    agreement = RebateAgreement.objects.filter(number__startswith="BK-").first()
    LedgerEntryFactory(agreement=agreement, period=agreement.start_month)
    with pytest.raises(CommandError, match="fresh database"):
        generate(replace=True)
    assert RebateAgreement.objects.filter(number__startswith="BK-").count() == 80


def test_start_month_moves_all_synthetic_data():
    generate("--start=2026-04", months=6, lines=500)
    months = PurchaseLine.objects.filter(erp_line_id__startswith="BK-").values_list("month", flat=True)
    assert min(months) >= datetime.date(2026, 4, 1) and max(months) <= datetime.date(2026, 9, 1)
    assert set(RebateAgreement.objects.values_list("start_month", "end_month")) == {
        (datetime.date(2026, 4, 1), datetime.date(2026, 9, 1))}


def test_a_start_that_is_not_a_month_is_refused():
    with pytest.raises(CommandError, match="YYYY-MM"):
        generate("--start=2026-13")
    assert not Customer.objects.exists()


NEWER_KINDS = {"clearance", "mix", "condition", "referral"}
LARGER = {"customers": 200, "agreements": 500, "products": 40, "lines": 6000}


def book_rules():
    return list(RebateRule.objects.filter(agreement__number__startswith="BK-").order_by("agreement__number")
                .values_list("agreement__number", "kind", "rate", "clearance_rate", "min_product_lines",
                             "focus_line__code", "focus_share", "active_months", "active_window"))


def book_referrals():
    return list(Customer.objects.filter(code__startswith="BK-", referred_by__isnull=False).order_by("code")
                .values_list("code", "referred_by__code", "referral_from", "referral_months"))


def test_a_tenth_of_the_agreements_have_the_newer_kinds_with_settings_that_matter():
    generate(**LARGER)
    rules = RebateRule.objects.filter(agreement__number__startswith="BK-").select_related("agreement")
    kinds = [rule.kind for rule in rules]
    assert set(kinds) == set(synthetic.RULE_MIX)
    assert 0.06 * 500 <= sum(kind in NEWER_KINDS for kind in kinds) <= 0.14 * 500
    for rule in rules.filter(kind="clearance"):
        assert rule.rate > 0 and rule.clearance_rate > 0
    for rule in rules.filter(kind="condition"):
        assert 1 <= rule.active_months <= rule.active_window <= 12
    for rule in rules.filter(kind="mix").prefetch_related("agreement__products", "agreement__product_lines__products"):
        spans = {p.product_line_id for p in Product.objects.filter(pk__in=covered_products(rule.agreement))}
        # Two lines are asked for only of a scope spanning two; a focus line is one of the scope's lines.
        assert rule.min_product_lines in (None, 2) and (rule.min_product_lines is None or len(spans) >= 2)
        assert rule.focus_line_id is None or (rule.focus_line_id in spans and 0 < rule.focus_share <= 100)
        assert rule.min_product_lines or rule.focus_line_id
    # Some products are on clearance for a few months, and clearance rules' scopes hold some of them.
    on_clearance = Product.objects.filter(sku__startswith="BK-", clearance_from__isnull=False)
    assert 0 < on_clearance.count() < 40
    for product in on_clearance:
        months = (product.clearance_until.year - product.clearance_from.year) * 12 + (
            product.clearance_until.month - product.clearance_from.month) + 1
        assert 1 <= months <= 4 and product.clearance_until <= datetime.date(2026, 12, 1)
    clearance_agreements = RebateAgreement.objects.filter(rule__kind="clearance").prefetch_related(
        "products", "product_lines__products")
    on_clearance_ids = set(on_clearance.values_list("pk", flat=True))
    assert any(covered_products(agreement) & on_clearance_ids for agreement in clearance_agreements)
    # Referral agreements' customers referred others, whose purchases in the window fall in the referrer's scope.
    referred = Customer.objects.filter(code__startswith="BK-", referred_by__isnull=False)
    assert referred.exists()
    earning = 0
    for customer in referred:
        assert customer.referred_by_id != customer.pk and 3 <= customer.referral_months <= 12
        agreements = RebateAgreement.objects.filter(customer_id=customer.referred_by_id, rule__kind="referral",
                                                    start_month__lte=customer.referral_from,
                                                    end_month__gte=customer.referral_from)
        assert agreements.exists()
        scope = set().union(*(covered_products(agreement) for agreement in agreements))
        earning += PurchaseLine.objects.filter(customer=customer, product_id__in=scope,
                                               month__gte=customer.referral_from).exists()
    assert earning >= referred.count() // 2


def test_the_older_mix_gives_the_same_agreements_and_lines_with_the_older_kinds_only(monkeypatch):
    generate(**LARGER, seed=11)
    lines, rules, referrals = synthetic_lines(), book_rules(), book_referrals()
    agreements = list(RebateAgreement.objects.order_by("number").values_list(
        "number", "customer__code", "start_month", "end_month", "settlement_frequency"))
    generate(**LARGER, seed=11, replace=True)
    assert (book_rules(), book_referrals()) == (rules, referrals)  # the same seed, the same book
    monkeypatch.setenv("SYNTHETIC_NEW_KINDS", "0")
    generate(**LARGER, seed=11, replace=True)
    assert set(RebateRule.objects.values_list("kind", flat=True)) == set(synthetic.OLD_MIX)
    assert not Product.objects.filter(clearance_from__isnull=False).exists()
    assert not Customer.objects.filter(referred_by__isnull=False).exists()
    # The book's size, agreements and lines are the same either way: only the rules differ.
    assert synthetic_lines() == lines
    assert list(RebateAgreement.objects.order_by("number").values_list(
        "number", "customer__code", "start_month", "end_month", "settlement_frequency")) == agreements
    assert book_rules() != rules


def test_a_fifth_of_the_customers_buy_in_euros_with_a_rate_for_every_month(summary):
    from decimal import Decimal

    from rebates.models import ExchangeRate

    customers = Customer.objects.filter(code__startswith="BK-")
    assert customers.filter(currency="EUR").count() == 10 and customers.filter(currency="USD").count() == 40
    rates = dict(ExchangeRate.objects.filter(currency="EUR", to_currency="USD").values_list("month", "rate"))
    assert sorted(rates) == SYNTHETIC_MONTHS
    assert rates[SYNTHETIC_MONTHS[0]] == Decimal("1.05") and rates[SYNTHETIC_MONTHS[13]] == Decimal("1.055")
    in_euros = PurchaseLine.objects.filter(erp_line_id__startswith="BK-", customer__currency="EUR").count()
    assert 0.1 < in_euros / 3000 < 0.35, in_euros
    assert f"{in_euros:,} in EUR" in summary


def book_groups():
    from customers.models import GroupMembership

    return list(GroupMembership.objects.filter(group__code__startswith="BK-").order_by("group__code", "member__code")
                .values_list("group__code", "member__code", "joined", "ended"))


def test_a_tenth_of_the_agreements_are_on_buying_groups_of_two_to_five_members(monkeypatch):
    from customers.models import GroupMembership

    generate(**LARGER, seed=5)
    groups = Customer.objects.filter(code__startswith="BK-", is_group=True)
    on_groups = RebateAgreement.objects.filter(customer__in=groups).count()
    # A tenth of all the customers are made groups (one finding no member stays a plain customer).
    assert 0.09 * LARGER["customers"] <= groups.count() <= 0.1 * LARGER["customers"]
    assert 0.08 * LARGER["agreements"] <= on_groups <= 0.12 * LARGER["agreements"]
    for group in groups:
        members = GroupMembership.objects.filter(group=group)
        assert 1 <= members.count() <= 5  # 2 to 5 asked; fewer when the group's lines have few candidates
        assert not members.filter(member__is_group=True).exists()
    memberships = book_groups()
    assert len({member for _, member, _, _ in memberships}) == len(memberships)  # one group per member
    assert any(joined > datetime.date(2025, 1, 1) for _, _, joined, _ in memberships)
    lines = synthetic_lines()
    generate(**LARGER, seed=5, replace=True)
    assert book_groups() == memberships  # the same seed, the same groups
    monkeypatch.setenv("SYNTHETIC_GROUPS", "0")
    generate(**LARGER, seed=5, replace=True)
    assert not Customer.objects.filter(code__startswith="BK-", is_group=True).exists()
    assert synthetic_lines() == lines  # the same lines with or without groups


def test_generate_book_makes_the_same_book_as_generate_synthetic():
    generate(seed=7)
    lines = synthetic_lines()
    out = StringIO()
    call_command("generate_book", **SIZES, seed=7, replace=True, stdout=out)
    assert "customers" in out.getvalue()
    assert synthetic_lines() == lines
    assert Customer.objects.filter(code__startswith="BK-", is_group=True).exists()
    assert Customer.objects.filter(code__startswith="BK-").values("currency").distinct().count() == 2
