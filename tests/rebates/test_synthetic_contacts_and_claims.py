"""generate_synthetic's contacts and price claims: how many, whose, when, in which currency, and the market signals
detection finds in the claims."""

import datetime
from collections import Counter, defaultdict
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from customers.models import Contact, Customer
from pricing_signals import tasks
from pricing_signals.models import Competitor, MarketSignal, PriceClaim
from rebates import synthetic
from rebates.models import RebateAgreement

pytestmark = pytest.mark.django_db

# Ten products in ten lines: every agreement covers one or two, so each product has several buyers.
SIZES = {"customers": 60, "agreements": 120, "products": 10, "lines": 2000, "managers": 3}
FIRST_CLAIM_DAY, LAST_DAY = datetime.date(2026, 7, 1), datetime.date(2026, 12, 31)  # the book's last six months


def generate(**options):
    out = StringIO()
    call_command("generate_synthetic", **{**SIZES, **options}, stdout=out)
    return out.getvalue()


def table_count(output, name):
    line = next(line for line in output.splitlines() if line.startswith(f"{name} "))
    return int(line.split()[-1].replace(",", ""))


def claims():
    return list(PriceClaim.objects.filter(customer__code__startswith="BK-").order_by("pk").values_list(
        "customer__code", "product__sku", "competitor__name", "claimed_price", "reported_on", "channel",
        "reported_by__username", "status"))


def test_contacts_are_the_customers_managers_up_to_the_books_last_day():
    output = generate()
    contacts = list(Contact.objects.select_related("customer", "manager"))
    assert table_count(output, "customers") == 60
    assert f"60 customers, {len(contacts)} contacts" in output
    # 0, 1, 1, 2 or 3 contacts a customer: a customer with none now and then, never more than three.
    per_customer = Counter(contact.customer.code for contact in contacts)
    assert 60 <= len(contacts) <= 180
    assert max(per_customer.values()) <= 3
    assert 0 < 60 - len(per_customer) < 30
    for contact in contacts:
        assert contact.customer.code.startswith("BK-")
        assert contact.manager == contact.customer.account_manager
        assert contact.manager.username.startswith("bk.am")
        assert contact.kind in ("call", "visit", "email", "meeting")
        assert LAST_DAY - datetime.timedelta(days=239) <= contact.contacted_on <= LAST_DAY
    # Some long enough ago to be due, some lately.
    assert min(contact.contacted_on for contact in contacts) < datetime.date(2026, 7, 1)
    assert max(contact.contacted_on for contact in contacts) > datetime.date(2026, 11, 1)


def test_no_managers_no_contacts_and_no_claims():
    output = generate(managers=0)
    assert Contact.objects.count() == 0
    assert PriceClaim.objects.count() == 0
    assert table_count(output, "price claims") == 0


def test_claims_are_by_customers_buying_the_product_in_the_books_last_six_months():
    output = generate()
    rows = list(PriceClaim.objects.select_related("customer", "product", "competitor", "reported_by"))
    assert table_count(output, "price claims") == len(rows)
    # Every product bought by 3 or more customers of one currency (most of the ten) gets 3 moves echoed by 3 or 4
    # of them and 20 lone claims.
    per_product = Counter(claim.product.sku for claim in rows)
    assert 6 <= len(per_product) <= 10
    assert all(3 * 3 + 20 <= count <= 3 * 4 + 20 for count in per_product.values())
    running = defaultdict(set)  # customer: the products its agreements running in the window cover
    for agreement in RebateAgreement.objects.filter(end_month__gte=FIRST_CLAIM_DAY).prefetch_related(
            "products", "product_lines__products"):
        running[agreement.customer_id] |= {p.pk for p in agreement.products.all()}
        running[agreement.customer_id] |= {p.pk for line in agreement.product_lines.all() for p in line.products.all()}
    for claim in rows:
        assert claim.customer.code.startswith("BK-") and claim.product.sku.startswith("BK-")
        assert claim.product_id in running[claim.customer_id]
        assert FIRST_CLAIM_DAY <= claim.reported_on <= LAST_DAY
        assert claim.reported_by == claim.customer.account_manager
        assert claim.competitor.name in synthetic.CLAIM_COMPETITORS
        assert 0 < claim.claimed_price < claim.product.list_price
        assert claim.claimed_price == claim.claimed_price.quantize(Decimal("0.01"))  # whole cents
        assert claim.status == "pending" and claim.signal_id is None
    # In both of the book's currencies: each claim's price is in its customer's.
    assert {claim.customer.currency for claim in rows} == {"USD", "EUR"}


@pytest.mark.today("2027-03-01")
def test_the_nightly_sweep_finds_signals_in_the_claims_each_in_one_currency():
    generate()
    tasks.nightly_signal_sweep.apply().get()
    signals = list(MarketSignal.objects.filter(product__sku__startswith="BK-").select_related("product")
                   .prefetch_related("claims__customer"))
    products = PriceClaim.objects.values("product").distinct().count()
    moves = [signal for signal in signals if signal.median_price >= signal.product.list_price * Decimal("0.8")]
    assert len(moves) >= products  # each product's moves: one signal or more (two moves close together make one)
    for signal in moves:
        members = list(signal.claims.all())
        assert signal.customer_count >= 3
        assert len({claim.customer_id for claim in members}) == signal.customer_count
        assert len({claim.customer.currency for claim in members}) == 1
        assert FIRST_CLAIM_DAY <= signal.window_start <= signal.window_end <= LAST_DAY
        assert all(claim.status == "corroborated" for claim in members)
    statuses = Counter(PriceClaim.objects.values_list("status", flat=True))
    # Every move is echoed: 3 moves a product, at 3 or 4 claims each, corroborated at the least.
    assert statuses["corroborated"] >= products * 3 * 3
    # The lone claims, weeks past their window, are unsubstantiated (now and then a few agree by chance).
    assert statuses["unsubstantiated"] >= products * 20 // 2
    assert set(statuses) <= {"corroborated", "unsubstantiated"}


def test_the_same_seed_gives_the_same_claims_and_replace_deletes_them_and_their_signals():
    generate()
    first = claims()
    tasks.nightly_signal_sweep.apply().get()
    assert MarketSignal.objects.exists()
    generate(replace=True)
    assert claims() == first
    assert not MarketSignal.objects.exists()
    assert Competitor.objects.count() == len(synthetic.CLAIM_COMPETITORS)
    generate(replace=True, seed=7)
    assert claims() != first


def test_claims_follow_the_start_month():
    generate(start="2024-03")
    days = PriceClaim.objects.values_list("reported_on", flat=True)
    assert min(days) >= datetime.date(2025, 9, 1)
    assert max(days) <= datetime.date(2026, 2, 28)
    assert Customer.objects.filter(price_claims__isnull=False).distinct().count() > 3
