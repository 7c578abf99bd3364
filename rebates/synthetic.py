"""Synthetic data for benchmarks and load tests: managers, customers, products, agreements, purchases, the
contacts the managers logged and the price claims their customers reported (see CLAIM_PRODUCTS).

Everything is drawn from generators seeded with `seed`, so a seed always gives the same data. Every
synthetic row is found by its prefix: customer codes, SKUs, agreement numbers and ERP line ids start with "BK-",
slug codes with "bk-", manager usernames with "bk.am". Money is built from whole cents, never from floats.

The big tables are loaded with COPY; the others with bulk_create in batches.

The book draws every rule kind of RULE_MIX: 90 % of the agreements have the flat, tiered and growth kinds and
10 % the clearance, product mix, conditional and referral kinds, with the product clearance windows and the
customer referrals those need. `new_kinds=False` (or SYNTHETIC_NEW_KINDS=0 in the environment) draws the
older mix of the first four kinds only, as the book was before the other kinds existed: the same seed then gives
that earlier book, so a benchmark can compare the two on one machine.
"""

import bisect
import os
import random
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import accumulate

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import ProtectedError, Q

from config import clock
from customers.models import Contact, Customer, GroupMembership, Segment
from customers.roles import ACCOUNT_MANAGER, roles_sync
from pricing_signals.models import Competitor, MarketSignal, PriceClaim
from rebates import querysets
from rebates.bulk import BATCH_SIZE, copy_lines, indexes_rebuilt_after, insert_rows
from rebates.engine.periods import add_months
from rebates.models import (
    BonusCondition,
    ContractPrice,
    ExchangeRate,
    HeldPurchaseLine,
    LedgerEntry,
    LineDiscount,
    Product,
    ProductLine,
    ProductUnit,
    PurchaseLine,
    RebateAgreement,
    RebateProgram,
    RebateRule,
    Settlement,
    TierBand,
)
from rebates.sql.synthetic import statistics_refresh

SYNTHETIC_PREFIX = querysets.SYNTHETIC_PREFIX  # the rule that hides test items reads it there
SLUG_PREFIX = "bk-"
MANAGER_PREFIX = "bk.am"

SEGMENTS = (("distribution", "Industrial distribution"), ("construction", "Construction contractors"),
            ("oem", "OEM manufacturers"), ("maintenance", "Maintenance and repair"))
LINE_NAMES = ("Fasteners", "Abrasives", "Power tools", "Hand tools", "Safety equipment", "Adhesives",
              "Welding", "Lubricants", "Bearings", "Hydraulics", "Pneumatics", "Electrical", "Lighting",
              "Cleaning", "Packaging", "Storage", "Lifting", "Measuring", "Cutting tools", "Plumbing")
PLACES = ("Northgate", "Riverside", "Summit", "Ironwood", "Bayview", "Cedar", "Granite", "Lakeshore", "Pioneer",
          "Redstone", "Silverline", "Oakridge", "Westbrook", "Keystone", "Highland", "Copperfield", "Maple",
          "Stonebridge", "Clearwater", "Eastfield")
TRADES = ("Industrial Supply", "Builders", "Maintenance", "Fabrication", "Hardware", "Contractors",
          "Engineering", "Tool Centre")
# value tier, share in 20ths, how many more lines it buys than a small customer
VALUE_TIERS = (("strategic", 1, 8), ("key", 3, 4), ("standard", 10, 2), ("small", 6, 1))
FREQUENCIES = ("annual",) * 7 + ("quarterly",) * 2 + ("monthly",)
PERIOD_MONTHS = {"annual": 12, "quarterly": 3, "monthly": 1}
# list prices in dollars: most products are consumables, a few are equipment
PRICE_RANGES = ((2, 50),) * 6 + ((50, 200),) * 3 + ((200, 800),)
UNMATCHED_PERCENT, CREDIT_NOTE_PERCENT = 3, 1
MAX_QUANTITY, MAX_RETURN = 500, 20
AVERAGE_QUANTITY = (1 + MAX_QUANTITY) // 2
# Every product also sells by the box and the case; 3 lines in 10 are sent in one of them. The same lines
# in base units as without units (a line of 7 each is 0.7 box), so the book's figures do not change.
UNITS = (("box", 10), ("case", 100))
# One customer in five buys in a second currency (its agreements book in it, its lines come in it): about a
# fifth of the lines. Their figures are those of the book without currencies, so its totals, in each
# customer's currency, do not change. The second currency has a rate into the default one for every month.
SECOND_CURRENCY_EVERY = 5


def second_currency() -> str:
    """EUR, or USD when the default currency is EUR."""
    return "EUR" if settings.DEFAULT_CURRENCY != "EUR" else "USD"


def second_currency_rate(month_index: int) -> Decimal:
    """The second currency's rate into the default in the book's month `month_index`: deterministic, 1.0500
    to 1.1050 round the year."""
    return Decimal("1.0500") + Decimal("0.0050") * (month_index % 12)


class SyntheticDataError(Exception):
    """The synthetic data cannot be generated as asked (it exists already, or the sizes make no sense)."""


@dataclass(frozen=True)
class SyntheticSummary:
    """Rows generated per table, and how long generating and loading them took."""

    managers: int
    segments: int
    product_lines: int
    products: int
    programs: int
    customers: int
    agreements: int
    rules: int
    tier_bands: int
    contract_prices: int
    line_discounts: int
    scope_products: int
    scope_product_lines: int
    purchase_lines: int
    unmatched_lines: int
    credit_notes: int
    product_units: int
    lines_in_units: int
    customers_in_second_currency: int
    lines_in_second_currency: int
    clearance_products: int
    referred_customers: int
    buying_groups: int
    group_members: int
    price_claims: int
    seconds: float

    def counts(self) -> dict[str, int]:
        return {name: value for name, value in asdict(self).items() if name != "seconds"}

    def __str__(self) -> str:
        return (f"generated {self.customers:,} customers, {self.agreements:,} agreements, {self.products:,} products, "
                f"{self.purchase_lines:,} purchase lines in {self.seconds:.1f} s")


@dataclass
class _Agreement:
    """One planned agreement; rule fields are the model's, bands are (threshold, rate) pairs."""

    number: str
    customer: int  # index into the planned customers
    start: int  # index of the first month of the term
    end: int  # index of the last month, included
    frequency: str
    scope_products: tuple[int, ...]
    scope_lines: tuple[int, ...]
    covered: tuple[int, ...]  # every product index the scope covers
    spans: tuple[int, ...]  # the product lines (indexes) of the covered products
    weight: int  # share of all synthetic purchases, per month of term
    net_price_cents: int
    discount: int = 0  # percent off list price: each named product's price, and the lines' discount
    program: int | None = None  # index into PROGRAMS; strategic customers have their own program
    committed: int | None = None
    rule: dict = field(default_factory=dict)
    bands: tuple[tuple[int, Decimal], ...] = ()


def parse_month(value) -> date:
    """A first-of-month date from a date or a "YYYY-MM" string."""
    if isinstance(value, date):
        return value.replace(day=1)
    try:
        return datetime.strptime(value, "%Y-%m").date()
    except (TypeError, ValueError):
        raise SyntheticDataError(f"start must be a month written YYYY-MM, got {value!r}") from None


def new_kinds_default() -> bool:
    """Whether the book draws the newer rule kinds: yes, unless SYNTHETIC_NEW_KINDS is 0 (or no, off, false)."""
    return os.environ.get("SYNTHETIC_NEW_KINDS", "1").strip().lower() not in ("0", "no", "off", "false")


def groups_default() -> bool:
    """Whether the book has buying groups: yes, unless SYNTHETIC_GROUPS is 0 (or no, off, false)."""
    return os.environ.get("SYNTHETIC_GROUPS", "1").strip().lower() not in ("0", "no", "off", "false")


def generate_synthetic(*, customers=10_000, agreements=20_000, products=500, months=24, lines=1_000_000,
                       seed=2026, start="2025-01", managers=20, replace=False, stdout=None,
                       new_kinds=None, groups=None) -> SyntheticSummary:
    """Generate the synthetic data in one transaction and return what was made.

    Agreements go round the customers: a customer's first agreement covers the first twelve months,
    its next one the following twelve (a renewal with the same scope), and so on. About 3 % of the purchase
    lines match no agreement and about 1 % are credit notes. Refuses when synthetic data exists, unless
    `replace`, which deletes the previous data first (never when accruals have been booked on it).
    `new_kinds` draws the mix with the newer kinds (the default, unless SYNTHETIC_NEW_KINDS=0) or, False, the
    older mix of per-unit, percent, tiered and growth rules only. `groups` makes about a tenth of the customers
    (so of the agreements) buying groups of 2 to 5 other customers (the default, unless SYNTHETIC_GROUPS=0);
    the same seed gives the same agreements and lines either way.
    """
    if new_kinds is None:
        new_kinds = new_kinds_default()
    if groups is None:
        groups = groups_default()
    began = clock.seconds()
    first_month = parse_month(start)
    _check_sizes(customers=customers, agreements=agreements, products=products, months=months, lines=lines,
                 managers=managers)
    say = _progress(stdout, began)
    with transaction.atomic():
        if synthetic_exists():
            if not replace:
                raise SyntheticDataError("Synthetic data (codes starting with BK-) exists already: "
                                         "run again with --replace to delete it and generate a new one.")
            synthetic_delete()
            say("deleted the previous synthetic data")
        month_list = [add_months(first_month, i) for i in range(months)]
        counts = _load(seed=seed, customers=customers, agreements=agreements, products=products,
                       months=month_list, lines=lines, managers=managers, say=say, new_kinds=new_kinds,
                       groups=groups)
    # Fresh planner statistics, so benchmarks measure the queries and not a stale plan.
    statistics_refresh((Customer, GroupMembership, RebateAgreement, RebateRule, TierBand, ContractPrice, LineDiscount,
                        PurchaseLine, Product, PriceClaim, RebateAgreement.products.through,
                        RebateAgreement.product_lines.through))
    say("statistics refreshed")
    return SyntheticSummary(**counts, seconds=clock.seconds() - began)


def synthetic_exists() -> bool:
    """Whether any synthetic row is in the database."""
    return any(query.exists() for query in (
        Customer.objects.filter(code__startswith=SYNTHETIC_PREFIX),
        Product.objects.filter(sku__startswith=SYNTHETIC_PREFIX),
        RebateAgreement.objects.filter(number__startswith=SYNTHETIC_PREFIX),
        PurchaseLine.objects.filter(erp_line_id__startswith=SYNTHETIC_PREFIX),
        get_user_model().objects.filter(username__startswith=MANAGER_PREFIX),
    ))


def synthetic_delete():
    """Delete the synthetic data and whatever hangs on its customers, products and agreements.

    The ledger is append-only: synthetic data with booked entries cannot be deleted, only replaced in a fresh
    database.
    """
    agreements = RebateAgreement.objects.filter(Q(number__startswith=SYNTHETIC_PREFIX)
                                                | Q(customer__code__startswith=SYNTHETIC_PREFIX))
    if LedgerEntry.objects.filter(agreement__in=agreements).exists():
        raise SyntheticDataError("Accruals have been booked on the synthetic data, and ledger entries are never "
                                 "deleted: generate the new data in a fresh database.")
    try:
        PriceClaim.objects.filter(Q(customer__code__startswith=SYNTHETIC_PREFIX)
                                  | Q(product__sku__startswith=SYNTHETIC_PREFIX)).delete()
        MarketSignal.objects.filter(product__sku__startswith=SYNTHETIC_PREFIX).delete()
        Competitor.objects.filter(name__in=CLAIM_COMPETITORS, price_claims__isnull=True,
                                  market_signals__isnull=True).delete()
        HeldPurchaseLine.objects.filter(Q(erp_line_id__startswith=SYNTHETIC_PREFIX)
                                        | Q(customer__code__startswith=SYNTHETIC_PREFIX)
                                        | Q(product__sku__startswith=SYNTHETIC_PREFIX)).delete()
        PurchaseLine.objects.filter(Q(erp_line_id__startswith=SYNTHETIC_PREFIX)
                                    | Q(customer__code__startswith=SYNTHETIC_PREFIX)
                                    | Q(product__sku__startswith=SYNTHETIC_PREFIX)).delete()
        Settlement.objects.filter(agreement__in=agreements).delete()
        TierBand.objects.filter(rule__agreement__in=agreements).delete()
        BonusCondition.objects.filter(rule__agreement__in=agreements).delete()
        RebateRule.objects.filter(agreement__in=agreements).delete()
        ContractPrice.objects.filter(agreement__in=agreements).delete()
        LineDiscount.objects.filter(agreement__in=agreements).delete()
        RebateAgreement.products.through.objects.filter(rebateagreement__in=agreements).delete()
        RebateAgreement.product_lines.through.objects.filter(rebateagreement__in=agreements).delete()
        agreements.delete()
        Contact.objects.filter(customer__code__startswith=SYNTHETIC_PREFIX).delete()
        GroupMembership.objects.filter(Q(group__code__startswith=SYNTHETIC_PREFIX)
                                       | Q(member__code__startswith=SYNTHETIC_PREFIX)).delete()
        # The synthetic referrals first (a referrer is protected); a real customer referred by one stops the delete.
        (Customer.objects.filter(code__startswith=SYNTHETIC_PREFIX, referred_by__code__startswith=SYNTHETIC_PREFIX)
         .update(referred_by=None, referral_from=None, referral_months=None))
        Customer.objects.filter(code__startswith=SYNTHETIC_PREFIX).delete()
        Product.objects.filter(sku__startswith=SYNTHETIC_PREFIX).delete()
        ProductLine.objects.filter(code__startswith=SLUG_PREFIX).delete()
        RebateProgram.objects.filter(code__startswith=SLUG_PREFIX).delete()
        Segment.objects.filter(code__startswith=SLUG_PREFIX).delete()
        get_user_model().objects.filter(username__startswith=MANAGER_PREFIX).delete()
    except ProtectedError as error:
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in error.protected_objects})
        raise SyntheticDataError(f"The synthetic data cannot be deleted: {', '.join(kinds)} refer to it. "
                                 "Generate the new data in a fresh database.") from error


def _check_sizes(**sizes):
    for name, value in sizes.items():
        if not isinstance(value, int) or value < 0:
            raise SyntheticDataError(f"{name} must be a whole number of at least 0, got {value!r}")
    for name in ("customers", "products", "months"):
        if sizes[name] < 1:
            raise SyntheticDataError(f"{name} must be at least 1")


def _progress(stdout, began):
    def say(message):
        if stdout is not None:
            stdout.write(f"{clock.seconds() - began:6.1f} s  {message}")
    return say


def _load(*, seed, customers, agreements, products, months, lines, managers, say, new_kinds, groups):
    now = clock.now()
    rng = random.Random(f"{seed}:catalogue")
    manager_ids = _managers_load(managers)
    segment_ids = _bulk_ids(Segment, "code", SLUG_PREFIX, [
        Segment(code=f"{SLUG_PREFIX}{code}", name=f"BK {name}") for code, name in SEGMENTS])
    line_count = min(len(LINE_NAMES), products)
    line_ids = _bulk_ids(ProductLine, "code", SLUG_PREFIX, [
        ProductLine(code=f"{SLUG_PREFIX}line-{i + 1:02d}", name=f"BK {LINE_NAMES[i]}") for i in range(line_count)])
    program_ids = _bulk_ids(RebateProgram, "code", SLUG_PREFIX, [
        RebateProgram(code=f"{SLUG_PREFIX}{code}", name=f"BK {months[0].year} {name}") for code, name in PROGRAMS])
    list_cents = [rng.randint(low * 100, high * 100) for low, high in (rng.choice(PRICE_RANGES) for _ in
                                                                       range(products))]
    windows = _clearance_plan(random.Random(f"{seed}:clearance"), products, len(months)) if new_kinds else {}
    product_ids = _bulk_ids(Product, "sku", SYNTHETIC_PREFIX, [
        Product(sku=f"{SYNTHETIC_PREFIX}P{i + 1:05d}", name=f"{LINE_NAMES[i % line_count]} item {i + 1}",
                product_line_id=line_ids[i % line_count], list_price=_money(list_cents[i]),
                **({"clearance_from": months[windows[i][0]], "clearance_until": months[windows[i][1]]}
                   if i in windows else {}))
        for i in range(products)])
    insert_rows(ProductUnit, ("product_id", "code", "base_quantity"),
                ((product_id, code, Decimal(size)) for product_id in product_ids for code, size in UNITS))
    say(f"{managers:,} managers, {products:,} products in {line_count} lines, {len(PROGRAMS)} programs")

    plan = _customers_plan(random.Random(f"{seed}:customers"), customers)
    # Value tiers and risk are the nightly outlook's to compute: the rows start unvalued (their database defaults).
    second = second_currency()
    insert_rows(Customer, ("code", "name", "segment_id", "account_manager_id", "status", "currency", "created_at",
                           "updated_at"),
           ((code, name, segment_ids[segment], manager_ids[i % managers] if managers else None, "active",
             second if i % SECOND_CURRENCY_EVERY == 2 else settings.DEFAULT_CURRENCY, now, now)
            for i, (code, name, segment, _, _) in enumerate(plan)))
    customer_ids = _ids(Customer, "code", SYNTHETIC_PREFIX)
    customer_ids = [customer_ids[code] for code, *_ in plan]
    in_second = {customer_ids[i] for i in range(2, len(plan), SECOND_CURRENCY_EVERY)}
    # A rate for every month of the book (kept if one is on record already: rates are not the book's own).
    ExchangeRate.objects.bulk_create(
        [ExchangeRate(currency=second, to_currency=settings.DEFAULT_CURRENCY, month=month,
                      rate=second_currency_rate(index)) for index, month in enumerate(months)],
        ignore_conflicts=True)
    say(f"{customers:,} customers, {_contacts_load(seed, customer_ids, manager_ids, months[-1], now):,} contacts")

    products_of_line = [list(range(i, products, line_count)) for i in range(line_count)]
    planned = _agreements_plan(random.Random(f"{seed}:agreements"), agreements, plan, products_of_line,
                               len(months), list_cents, lines, NEW_SHARES_TO if new_kinds else OLD_SHARES_TO)
    insert_rows(RebateAgreement, ("number", "customer_id", "program_id", "start_month", "end_month",
                             "committed_monthly_quantity", "settlement_frequency", "status",
                             "created_at", "terms_changed_at"),
           ((a.number, customer_ids[a.customer], program_ids[a.program], months[a.start], months[a.end],
             None if a.committed is None else Decimal(a.committed), a.frequency, "active", now, now)
            for a in planned))
    agreement_ids = _ids(RebateAgreement, "number", SYNTHETIC_PREFIX)
    agreement_ids = [agreement_ids[a.number] for a in planned]
    rule_fields = ("kind", "rate_type", "rate", "tier_basis", "tier_method", "baseline", "baseline_amount",
                   "minimum", "cap", "commitment_rule", "clearance_rate", "min_product_lines", "focus_share",
                   "active_months", "active_window")
    insert_rows(RebateRule, ("agreement_id", *rule_fields, "focus_line"),
           ((agreement_ids[i], *(a.rule[name] for name in rule_fields),
             None if a.rule["focus_line"] is None else line_ids[a.rule["focus_line"]]) for i, a in enumerate(planned)))
    rule_ids = dict(RebateRule.objects.filter(agreement__number__startswith=SYNTHETIC_PREFIX).order_by()
                    .values_list("agreement_id", "id"))
    bands = [(rule_ids[agreement_ids[i]], Decimal(threshold), rate)
             for i, a in enumerate(planned) for threshold, rate in a.bands]
    insert_rows(TierBand, ("rule_id", "threshold", "rate"), bands)
    # Each named product at its list price less the agreement's discount; a line scope's products by the
    # line's discount off list price.
    prices = [(agreement_ids[i], product_ids[p], months[a.start],
               _money(max(1, (list_cents[p] * (100 - a.discount) + 50) // 100)), "Contract price", now)
              for i, a in enumerate(planned) for p in a.scope_products]
    insert_rows(ContractPrice, ("agreement_id", "product_id", "effective_from", "net_price", "reason", "created_at"),
                prices)
    discounts = [(agreement_ids[i], line_ids[p], months[a.start], Decimal(a.discount), "Contract discount", now)
                 for i, a in enumerate(planned) for p in a.scope_lines]
    insert_rows(LineDiscount, ("agreement_id", "product_line_id", "effective_from", "discount_percent", "reason",
                               "created_at"), discounts)
    scope_products = [(agreement_ids[i], product_ids[p]) for i, a in enumerate(planned) for p in a.scope_products]
    scope_lines = [(agreement_ids[i], line_ids[p]) for i, a in enumerate(planned) for p in a.scope_lines]
    insert_rows(RebateAgreement.products.through, ("rebateagreement_id", "product_id"), scope_products)
    insert_rows(RebateAgreement.product_lines.through, ("rebateagreement_id", "productline_id"), scope_lines)
    say(f"{agreements:,} agreements with their rules, {len(bands):,} tier bands, contract prices and scopes; "
        f"{len(windows):,} products on clearance")

    tally = {"unmatched": 0, "credit_notes": 0}
    rows = _purchase_rows(random.Random(f"{seed}:purchases"), lines, planned, customer_ids, product_ids,
                          list_cents, len(months), tally)
    in_units, lines_in_second = _purchases_insert(rows, lines, [month.isoformat() for month in months], now,
                                                  in_second)
    say(f"{lines:,} purchase lines, {in_units:,} of them sent in boxes or cases, {lines_in_second:,} in {second}")
    # The referrals last: stated before the lines, every line loaded would be matched against them (the marks for
    # the referrers); stated after, each marks its own window's purchases, as a referral an account manager states.
    referrals = _referrals_plan(random.Random(f"{seed}:referrals"), planned, len(plan))
    Customer.objects.bulk_update(
        [Customer(pk=customer_ids[referred], referred_by_id=customer_ids[referrer], referral_from=months[first],
                  referral_months=count) for referred, (referrer, first, count) in sorted(referrals.items())],
        ("referred_by", "referral_from", "referral_months"), batch_size=BATCH_SIZE)
    say(f"{len(referrals):,} referred customers")
    # The buying groups after the lines too, for the same reason: each membership marks its group's agreements.
    memberships = (_groups_plan(random.Random(f"{seed}:groups"), planned, len(plan), len(months), set(referrals))
                   if groups else [])
    group_ids = sorted({customer_ids[group] for group, _, _, _ in memberships})
    Customer.objects.filter(pk__in=group_ids).update(is_group=True)
    insert_rows(GroupMembership, ("group_id", "member_id", "joined", "ended", "created_at"),
                ((customer_ids[group], customer_ids[member], months[joined],
                  None if ended is None else months[ended], now) for group, member, joined, ended in memberships))
    say(f"{len(group_ids):,} buying groups of {len(memberships):,} members")
    claims = _claims_load(seed, planned, customer_ids, product_ids, manager_ids, list_cents, months, in_second, now)
    say(f"{claims:,} price claims")
    return {
        "managers": managers, "segments": len(SEGMENTS), "product_lines": line_count, "products": products,
        "programs": len(PROGRAMS), "customers": customers, "agreements": agreements, "rules": agreements,
        "tier_bands": len(bands), "contract_prices": len(prices), "line_discounts": len(discounts),
        "scope_products": len(scope_products),
        "scope_product_lines": len(scope_lines), "purchase_lines": lines, "unmatched_lines": tally["unmatched"],
        "credit_notes": tally["credit_notes"], "product_units": products * len(UNITS), "lines_in_units": in_units,
        "customers_in_second_currency": len(in_second), "lines_in_second_currency": lines_in_second,
        "clearance_products": len(windows), "referred_customers": len(referrals),
        "buying_groups": len(group_ids), "group_members": len(memberships), "price_claims": claims,
    }


# Price claims over the book's last CLAIM_MONTHS months, for CLAIM_PRODUCTS products bought then by at least
# MIN_ECHOES customers of one currency: CLAIM_MOVES market moves per product (a competitor's new price that
# CLAIM_ECHOES of those customers report within ECHO_DAYS days, the same price each: a signal once detection runs,
# whose claims are all in one currency) and CLAIM_LONE lone claims, each at its own price and day, deeper than any
# move (a bluff). Every claimant buys the product under an agreement running in the window, and its
# claimed price is in its own currency; its account manager recorded it.
CLAIM_COMPETITORS = ("BK Apex Supply", "BK Northline", "BK Budget Bolt")
CLAIM_PRODUCTS, CLAIM_MOVES, CLAIM_ECHOES, CLAIM_LONE = 60, 3, 4, 20
CLAIM_MONTHS, ECHO_DAYS, MIN_ECHOES = 6, 20, 3
# Percent of list price (from, to excluded): a move's price, a lone claim's; far enough apart (more than the
# detection rule's 2 % tolerance) that a lone claim never joins a move's signal.
MOVE_PERCENT, LONE_PERCENT = (80, 95), (50, 77)
CLAIM_CHANNELS = ("call", "email", "visit", "quote")


def claims_window(months) -> tuple[date, date]:
    """The first and last day the book's claims may be reported on: its last CLAIM_MONTHS months."""
    return months[max(0, len(months) - CLAIM_MONTHS)], add_months(months[-1], 1) - timedelta(days=1)


def _claims_plan(rng, planned, month_count, list_cents, second_of, days):
    """(customer index, product index, competitor index, day of the window (from 0), price cents, channel) per
    claim, the window `days` long.

    `second_of(customer)` says whether the customer buys in the second currency."""
    first_month = max(0, month_count - CLAIM_MONTHS)
    buyers = {}  # product: {currency is second: customers buying it under an agreement running in the window}
    for a in planned:
        if a.end >= first_month:
            second = second_of(a.customer)
            for p in a.covered:
                buyers.setdefault(p, ({}, {}))[second].setdefault(a.customer, None)
    eligible = sorted(p for p, groups in buyers.items() if max(len(g) for g in groups) >= MIN_ECHOES)
    claims = []
    for p in sorted(rng.sample(eligible, min(CLAIM_PRODUCTS, len(eligible)))):
        groups = [list(g) for g in buyers[p]]
        everyone = groups[0] + groups[1]
        for _ in range(CLAIM_MOVES):
            group = rng.choice([g for g in groups if len(g) >= MIN_ECHOES])
            competitor = rng.randrange(len(CLAIM_COMPETITORS))
            day = rng.randrange(max(1, days - ECHO_DAYS))
            price = list_cents[p] * rng.randrange(*MOVE_PERCENT) // 100 or 1
            for customer in rng.sample(group, min(CLAIM_ECHOES, len(group))):
                claims.append((customer, p, competitor, day + rng.randrange(ECHO_DAYS), price, rng.choice(
                    CLAIM_CHANNELS)))
        for _ in range(CLAIM_LONE):
            claims.append((rng.choice(everyone), p, rng.randrange(len(CLAIM_COMPETITORS)), rng.randrange(days),
                           list_cents[p] * rng.randrange(*LONE_PERCENT) // 100 or 1, rng.choice(CLAIM_CHANNELS)))
    return claims


def _claims_load(seed, planned, customer_ids, product_ids, manager_ids, list_cents, months, in_second, now) -> int:
    """COPY the book's price claims (see CLAIM_PRODUCTS), pending until detection runs; the number of claims."""
    if not manager_ids:
        return 0
    first_day, last_day = claims_window(months)
    days = (last_day - first_day).days + 1
    claims = _claims_plan(random.Random(f"{seed}:claims"), planned, len(months), list_cents,
                          lambda customer: customer_ids[customer] in in_second, days)
    Competitor.objects.bulk_create([Competitor(name=name) for name in CLAIM_COMPETITORS], ignore_conflicts=True)
    competitor_ids = dict(Competitor.objects.filter(name__in=CLAIM_COMPETITORS).values_list("name", "id"))
    competitor_ids = [competitor_ids[name] for name in CLAIM_COMPETITORS]
    insert_rows(PriceClaim, ("customer_id", "product_id", "competitor_id", "claimed_price", "reported_on", "channel",
                             "reported_by_id", "note", "evidence", "evidence_sha256", "status", "created_at"),
                ((customer_ids[customer], product_ids[p], competitor_ids[competitor], _money(price),
                  first_day + timedelta(days=day), channel, manager_ids[customer % len(manager_ids)], "", "", "",
                  "pending", now)
                 for customer, p, competitor, day, price, channel in claims))
    return len(claims)


CONTACT_KINDS = ("call", "visit", "email", "meeting")


def _contacts_load(seed, customer_ids, manager_ids, last_month, now) -> int:
    """The contacts their managers logged with most customers (a fifth never contacted), up to the book's last
    month, some long enough ago to be due; the number of contacts."""
    if not manager_ids:
        return 0
    rng = random.Random(f"{seed}:contacts")
    end = add_months(last_month, 1).toordinal() - 1
    rows = []
    for i, customer_id in enumerate(customer_ids):
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            day = date.fromordinal(end - rng.randrange(240))
            rows.append((customer_id, manager_ids[i % len(manager_ids)], rng.choice(CONTACT_KINDS), "", day, now))
    insert_rows(Contact, ("customer_id", "manager_id", "kind", "note", "contacted_on", "created_at"), rows)
    return len(rows)


def _managers_load(count):
    """Account managers with unusable passwords (an administrator sets one when someone needs to sign in)."""
    if not Group.objects.filter(name=ACCOUNT_MANAGER).exists():
        roles_sync()
    user_model = get_user_model()
    width = max(2, len(str(count)))
    password = make_password(None)
    ids = _bulk_ids(user_model, "username", MANAGER_PREFIX, [
        user_model(username=f"{MANAGER_PREFIX}{i + 1:0{width}d}", first_name="Account", last_name=f"Manager {i + 1}",
                   email=f"{MANAGER_PREFIX}{i + 1:0{width}d}@example.com", password=password)
        for i in range(count)])
    group = Group.objects.get(name=ACCOUNT_MANAGER)
    membership = user_model.groups.through
    membership.objects.bulk_create([membership(user_id=user_id, group_id=group.pk) for user_id in ids],
                                   batch_size=BATCH_SIZE)
    return ids


def _customers_plan(rng, count):
    """(code, name, segment index, value tier, purchase weight) per customer."""
    tiers = [(tier, weight) for tier, share, weight in VALUE_TIERS for _ in range(share)]
    plan = []
    for i in range(count):
        tier, weight = rng.choice(tiers)
        name = f"{PLACES[i % len(PLACES)]} {TRADES[rng.randrange(len(TRADES))]} {i + 1}"
        plan.append((f"{SYNTHETIC_PREFIX}C{i + 1:06d}", name, rng.randrange(len(SEGMENTS)), tier, weight))
    return plan


def _agreements_plan(rng, count, customers, products_of_line, month_count, list_cents, lines, shares_to):
    """Agreements go round the customers; the k-th of a customer takes term k mod (number of terms). Rule kinds
    are drawn by the cumulative shares `shares_to` (percent, in the order of RULE_MIX)."""
    terms = [(first, min(first + 11, month_count - 1)) for first in range(0, month_count, 12)]
    homes = [rng.randrange(len(products_of_line)) for _ in customers]
    scopes = {}  # (customer, slot): a renewal keeps the scope of the agreement it renews
    planned = []
    for j in range(count):
        customer, k = j % len(customers), j // len(customers)
        slot, (start, end) = k // len(terms), terms[k % len(terms)]
        if (customer, slot) not in scopes:
            scopes[customer, slot] = _scope(rng, products_of_line, (homes[customer] + slot) % len(products_of_line))
        scope_products, scope_lines = scopes[customer, slot]
        covered = tuple(sorted(set(scope_products).union(*(products_of_line[i] for i in scope_lines))))
        spans = tuple(sorted({p % len(products_of_line) for p in covered}))  # product p is in line p mod lines
        tier, weight = customers[customer][3], customers[customer][4]
        discount = rng.randint(5, 15)
        planned.append(_Agreement(
            number=f"{SYNTHETIC_PREFIX}A{j + 1:07d}", customer=customer, start=start, end=end,
            frequency=rng.choice(FREQUENCIES), scope_products=scope_products, scope_lines=scope_lines,
            covered=covered, spans=spans, weight=weight,
            net_price_cents=max(1, (list_cents[covered[0]] * (100 - discount) + 50) // 100), discount=discount,
            program=STRATEGIC_PROGRAM if tier == "strategic" else None,
        ))
    # Rules are sized on the volume each agreement is expected to see, so tiers and caps are reachable.
    total_weight = sum(a.weight * (a.end - a.start + 1) for a in planned) or 1
    matched_lines = lines * (100 - UNMATCHED_PERCENT) // 100
    for a in planned:
        term_months = a.end - a.start + 1
        monthly_units = max(1, matched_lines * a.weight * AVERAGE_QUANTITY // total_weight)
        period_units = monthly_units * min(PERIOD_MONTHS[a.frequency], term_months)
        average_cents = sum(list_cents[p] for p in a.covered) // len(a.covered)
        period_dollars = max(1, period_units * average_cents // 100)
        a.rule, a.bands = _rule(rng, a, period_units, period_dollars, shares_to)
        if a.program is None:
            a.program = PROGRAM_OF_KIND[a.rule["kind"]]
        if rng.randrange(4) == 0:
            a.committed = max(10, monthly_units * 8 // 100 * 10)
            a.rule["commitment_rule"] = rng.randrange(10) == 0
    return planned


def _scope(rng, products_of_line, line):
    """(products, product lines): the line itself, a few of its products, or the line and a product beside it."""
    roll = rng.randrange(100)
    own = products_of_line[line]
    if roll < 40:
        return (), (line,)
    if roll < 85 or len(products_of_line) == 1:
        return tuple(sorted(rng.sample(own, min(rng.randint(1, 4), len(own))))), ()
    beside = products_of_line[(line + len(products_of_line) // 2) % len(products_of_line)]
    return tuple(sorted(rng.sample(beside, min(rng.randint(1, 2), len(beside))))), (line,)


def _rule(rng, agreement, period_units, period_dollars, shares_to):
    """The rule's model fields and tier bands, of a kind drawn by the cumulative shares `shares_to`.

    `focus_line` is an index into the product lines (the loader turns it into the line's id)."""
    rule = {"rate": None, "tier_basis": "", "tier_method": "", "baseline": "", "baseline_amount": None,
            "minimum": None, "cap": None, "commitment_rule": False, "clearance_rate": None,
            "min_product_lines": None, "focus_line": None, "focus_share": None, "active_months": None,
            "active_window": None}
    # A baseline of last year needs a year before the term; the first term states its baseline.
    last_year_known = agreement.start >= 12
    kind = tuple(RULE_MIX)[bisect.bisect_right(shares_to, rng.randrange(100))]
    rule["kind"] = kind
    bands = RULE_MIX[kind][2](rng, rule, agreement, period_units, period_dollars, last_year_known)
    return rule, bands


def _per_unit_rule(rng, rule, agreement, period_units, period_dollars, last_year_known):
    rule.update(rate_type="per_unit", rate=_money(max(1, agreement.net_price_cents * rng.randint(1, 5) // 100)))
    if rng.randrange(10) == 0:
        rule["minimum"] = Decimal(_round(period_units // 10))
    return ()


def _percent_rule(rng, rule, agreement, period_units, period_dollars, last_year_known):
    rule.update(rate_type="percent", rate=Decimal(rng.randint(2, 10)) / 2)
    if rng.randrange(8) == 0:
        rule["cap"] = Decimal(_round(period_dollars * rng.randint(2, 4) // 100) or 1)
    return ()


def _tiered_rule(rng, rule, agreement, period_units, period_dollars, last_year_known):
    method = rng.choices(("retroactive", "incremental", "retroactive_on_growth"), weights=(45, 35, 20))[0]
    basis = rng.choice(("quantity", "amount"))
    per_unit = basis == "quantity" and rng.randrange(3) == 0
    rule.update(rate_type="per_unit" if per_unit else "percent", tier_basis=basis, tier_method=method)
    volume = period_units if basis == "quantity" else period_dollars
    first = max(1, _round(volume * rng.randint(30, 60) // 100))
    second = max(first + 1, _round(volume * rng.randint(85, 130) // 100))
    if per_unit:
        step = max(1, agreement.net_price_cents * rng.randint(1, 2) // 100)
        rates = [_money(step), _money(step * 3 // 2 or 1), _money(step * 2)]
    else:
        base = rng.randint(1, 3)
        rates = [Decimal(base), Decimal(base + 1), Decimal(base + 2)]
    if method == "retroactive_on_growth":
        _baseline(rng, rule, period_dollars, last_year_known)
    return ((0, rates[0]), (first, rates[1]), (second, rates[2]))


def _growth_rule(rng, rule, agreement, period_units, period_dollars, last_year_known):
    rule.update(rate_type="percent", rate=Decimal(rng.randint(3, 8)))
    _baseline(rng, rule, period_dollars, last_year_known)
    return ()


def _clearance_rule(rng, rule, agreement, period_units, period_dollars, last_year_known):
    rule.update(rate_type="percent", rate=Decimal(rng.randint(1, 4)) / 2, clearance_rate=Decimal(rng.randint(2, 6)))
    return ()


def _mix_rule(rng, rule, agreement, period_units, period_dollars, last_year_known):
    """At least 2 product lines when the scope spans two (sometimes with a focus line too); a focus line's share of
    the period otherwise."""
    rule.update(rate_type="percent", rate=Decimal(rng.randint(2, 8)) / 2)
    if len(agreement.spans) >= 2:
        rule["min_product_lines"] = 2
        if rng.randrange(3) == 0:
            rule.update(focus_line=rng.choice(agreement.spans), focus_share=Decimal(rng.randint(3, 6) * 5))
    else:
        rule.update(focus_line=agreement.spans[0], focus_share=Decimal(rng.randint(10, 19) * 5))
    return ()


def _condition_rule(rng, rule, agreement, period_units, period_dollars, last_year_known):
    active_months, active_window = rng.choice(((3, 4), (3, 4), (2, 3), (4, 6), (9, 12)))
    rule.update(rate_type="percent", rate=Decimal(rng.randint(2, 8)) / 2, active_months=active_months,
                active_window=active_window)
    return ()


def _referral_rule(rng, rule, agreement, period_units, period_dollars, last_year_known):
    rule.update(rate_type="percent", rate=Decimal(rng.randint(2, 10)) / 2)
    return ()


# The synthetic data's rule kinds (the engine's codes, rebates/engine/kinds.py): the program their agreements
# join, their share of agreements in percent (the shares add up to 100), and how a rule is drawn. A kind left out is
# never drawn. The newer kinds (the last four) take 10 % of the agreements, from the others in proportion.
RULE_MIX = {
    "per_unit": (("volume", "volume program"), 36, _per_unit_rule),
    "percent": (("percent", "percent program"), 23, _percent_rule),
    "tiered": (("tiered", "tiered program"), 22, _tiered_rule),
    "growth": (("growth", "growth partnership"), 9, _growth_rule),
    "clearance": (("clearance", "clearance program"), 3, _clearance_rule),
    "mix": (("mix", "product mix program"), 3, _mix_rule),
    "condition": (("loyalty", "loyalty program"), 2, _condition_rule),
    "referral": (("referral", "referral program"), 2, _referral_rule),
}
# The older mix, before the newer kinds (new_kinds=False): the same kinds' shares as they were, in the same order.
OLD_MIX = {"per_unit": 40, "percent": 25, "tiered": 25, "growth": 10}
PROGRAMS = (*(program for program, _, _ in RULE_MIX.values()), ("strategic", "strategic accounts"))
PROGRAM_OF_KIND = {kind: index for index, kind in enumerate(RULE_MIX)}
STRATEGIC_PROGRAM = len(RULE_MIX)
NEW_SHARES_TO = tuple(accumulate(share for _, share, _ in RULE_MIX.values()))  # 36, 59, 81, 90, 93, 96, 98, 100
OLD_SHARES_TO = tuple(accumulate(OLD_MIX.get(kind, 0) for kind in RULE_MIX))  # 40, 65, 90, 100, 100, ...
# A product's clearance window: the share of products that have one, and its length in months.
CLEARANCE_PERCENT, CLEARANCE_MONTHS = 15, (2, 4)
# Customers a referral agreement's customer referred, and how many months each referral earns.
REFERRED_PER_AGREEMENT, REFERRAL_MONTHS = (1, 3), (3, 12)


def _clearance_plan(rng, products, month_count):
    """{product index: (first month index, last month index)} of the products with a clearance window."""
    windows = {}
    for p in range(products):
        if rng.randrange(100) < CLEARANCE_PERCENT:
            first = rng.randrange(month_count)
            windows[p] = (first, min(month_count - 1, first + rng.randint(*CLEARANCE_MONTHS) - 1))
    return windows


def _referrals_plan(rng, planned, customer_count):
    """{referred customer: (referrer, first month index, months)} for the referral agreements' customers.

    Each referral agreement's customer referred a few customers whose own first agreement is in the same home
    product line (so their purchases fall in the referrer's scope), in the first half of the referrer's term;
    a customer is referred once at most, never by itself, and never refers its own referrer.
    """
    first_scope = {}  # customer: the product lines of its first agreement's scope
    for a in planned:
        first_scope.setdefault(a.customer, a.spans)
    by_line = {}
    for customer in range(customer_count):
        for line in first_scope.get(customer, ()):
            by_line.setdefault(line, []).append(customer)
    referrals = {}
    for a in planned:
        if a.rule["kind"] != "referral":
            continue
        candidates = sorted({c for line in a.spans for c in by_line.get(line, ())} - {a.customer})
        wanted = rng.randint(*REFERRED_PER_AGREEMENT)
        for referred in rng.sample(candidates, min(len(candidates), wanted * 3)):
            if wanted == 0:
                break
            if referred in referrals or referrals.get(a.customer, (None,))[0] == referred:
                continue
            first = a.start + rng.randrange(max(1, (a.end - a.start + 1) // 2))
            referrals[referred] = (a.customer, first, rng.randint(*REFERRAL_MONTHS))
            wanted -= 1
    return referrals


GROUP_PERCENT = 10  # of all the customers, so of the agreements (they go round the customers)
MEMBERS_PER_GROUP = (2, 5)


def _groups_plan(rng, planned, customer_count, month_count, referred):
    """[(group, member, joined month index, ended month index or None)]: GROUP_PERCENT of the customers
    are buying groups, each of 2 to 5 other customers whose first agreement shares a product line with the
    group's (so their purchases fall in its scope). One level (a group is never a member), one group per member
    (for the whole book), no referral customer among them (the referral kind reads its own; kept apart). Most
    members are members throughout; one in four joins later, one in five of those leaves again."""
    first_scope = {}
    for a in planned:
        first_scope.setdefault(a.customer, a.spans)
    referrers = {a.customer for a in planned if a.rule["kind"] == "referral"}
    eligible = [c for c in range(customer_count) if c not in referred and c not in referrers and c in first_scope]
    # A tenth of all the customers (not of those eligible), so a tenth of the book's agreements are a group's.
    groups = sorted(rng.sample(eligible, min(len(eligible), customer_count * GROUP_PERCENT // 100)))
    taken = set(groups)
    by_line = {}
    for customer in eligible:
        if customer not in taken:
            for line in first_scope[customer]:
                by_line.setdefault(line, []).append(customer)
    memberships = []
    for group in groups:
        candidates = sorted({c for line in first_scope[group] for c in by_line.get(line, ())} - taken)
        for member in rng.sample(candidates, min(len(candidates), rng.randint(*MEMBERS_PER_GROUP))):
            taken.add(member)
            joined, ended = 0, None
            if rng.randrange(4) == 0:
                joined = rng.randrange(month_count // 2)
                if rng.randrange(5) == 0:
                    ended = joined + 1 + rng.randrange(month_count - joined - 1)
            memberships.append((group, member, joined, ended))
    return memberships


def _baseline(rng, rule, period_dollars, last_year_known):
    if last_year_known and rng.randrange(2) == 0:
        rule["baseline"] = "last_year"
    else:
        rule.update(baseline="stated", baseline_amount=Decimal(_round(period_dollars * rng.randint(80, 95) // 100)))


def _round(value: int) -> int:
    """Two significant figures, as people state thresholds and baselines: 12,345 -> 12,000."""
    scale = 10 ** max(0, len(str(value)) - 2)
    return value // scale * scale


def _purchase_rows(rng, count, planned, customer_ids, product_ids, list_cents, month_count, tally):
    """(erp line id, customer id, product id, month index, quantity, unit price cents, amount cents) per line.

    Lines land on agreements in proportion to their weight, on a product of the scope, in a month of the
    term. About 3 % go to a product outside every agreement of a random customer (unmatched) and about
    1 % are credit notes.
    """
    width = max(7, len(str(count)))
    random_ = rng.random
    cumulative, running = [], 0
    for a in planned:
        running += a.weight * (a.end - a.start + 1)
        cumulative.append(running)
    covered_by = [set() for _ in customer_ids]
    for a in planned:
        covered_by[a.customer].update(a.covered)
    product_count, customer_count = len(product_ids), len(customer_ids)
    credit_share = CREDIT_NOTE_PERCENT / (100 - UNMATCHED_PERCENT)
    for i in range(1, count + 1):
        erp_line_id = f"{SYNTHETIC_PREFIX}{i:0{width}d}"
        if not planned or random_() * 100 < UNMATCHED_PERCENT:
            customer = int(random_() * customer_count)
            for _ in range(10):
                product = int(random_() * product_count)
                if product not in covered_by[customer]:
                    break
            else:
                product = None
            if product is not None:
                tally["unmatched"] += 1
                price = list_cents[product] * (90 + int(random_() * 13)) // 100 or 1
                quantity = 1 + int(random_() * MAX_QUANTITY)
                yield (erp_line_id, customer_ids[customer], product_ids[product], int(random_() * month_count),
                       quantity, price, quantity * price)
                continue
        a = planned[bisect.bisect_right(cumulative, random_() * running)]
        product = a.covered[int(random_() * len(a.covered))]
        month = a.start + int(random_() * (a.end - a.start + 1))
        if random_() < credit_share:
            tally["credit_notes"] += 1
            quantity = -1 - int(random_() * MAX_RETURN)
        else:
            quantity = 1 + int(random_() * MAX_QUANTITY)
        price = list_cents[product] * (90 + int(random_() * 13)) // 100 or 1
        yield erp_line_id, customer_ids[a.customer], product_ids[product], month, quantity, price, quantity * price


def _purchases_insert(rows, count, month_texts, now, in_second=frozenset()) -> tuple[int, int]:
    """COPY the lines; lines 1, 4 and 7 of every ten are sent in a box or a case (alternating by tens), their
    base figures the same. Answers how many lines are in a unit, and how many are of customers in `in_second`
    (ids of the customers buying in the second currency: their lines come in it)."""
    stamp = now.isoformat()
    in_units = lines_in_second = 0

    def csv_lines():
        nonlocal in_units, lines_in_second
        for n, (erp_line_id, customer_id, product_id, month, quantity, price, amount) in enumerate(rows, start=1):
            if customer_id in in_second:
                lines_in_second += 1
            sign, amount = ("-", -amount) if amount < 0 else ("", amount)
            if n % 10 in (1, 4, 7):
                in_units += 1
                code, size = UNITS[n // 10 % 2]
                sent = f'"{code}",{Decimal(quantity) / size},{Decimal(price * size).scaleb(-2)}'
            else:
                sent = '"",,'
            yield (f"{erp_line_id},{customer_id},{product_id},{month_texts[month]},{quantity},"
                   f"{price // 100}.{price % 100:02d},{sign}{amount // 100}.{amount % 100:02d},{sent},api,"
                   f"{stamp},{stamp}\n")

    with indexes_rebuilt_after(PurchaseLine._meta.db_table, rows_written=count):
        columns = ("erp_line_id", "customer_id", "product_id", "month", "quantity", "unit_price", "amount",
                   "unit", "quantity_in_unit", "unit_price_in_unit", "source", "created_at", "updated_at")
        copy_lines(PurchaseLine, columns, csv_lines())
    return in_units, lines_in_second


def _bulk_ids(model, key, prefix, objects):
    """bulk_create the objects and return their ids in the same order, read back by their unique key."""
    model.objects.bulk_create(objects, batch_size=BATCH_SIZE)
    ids = _ids(model, key, prefix)
    return [ids[getattr(obj, key)] for obj in objects]


def _ids(model, key, prefix):
    return dict(model.objects.filter(**{f"{key}__startswith": prefix}).order_by().values_list(key, "id"))


def _money(cents: int) -> Decimal:
    """Whole cents as a Decimal amount: 1205 -> Decimal("12.05")."""
    return Decimal(cents).scaleb(-2)
