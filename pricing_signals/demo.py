"""The demo data: users, customers, products, programs, agreements, a year of purchases and price claims.

Every row is found by its natural key (username, code, SKU, number, erp_line_id, ...) and drawn from one
seeded random generator, so loading twice leaves the database exactly as the first load left it. The seed
customer and its claims are docs/product.md's worked example and seed scenario; detection runs at the end, so
the seed signal is there when the demo opens. The data is the year 2026 whatever the day; the load then
accrues it as of today and closes the settlement periods that have ended, as the nightly run would, so
the first dashboard shows what was earned and what is still to pay.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import chain

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Model, Q, Sum
from django.db.models.functions import Coalesce
from rest_framework.authtoken.models import Token

from config import clock
from customers.models import Contact, Customer, GroupMembership, Segment
from customers.roles import ACCOUNT_MANAGER, ADMINISTRATOR, ERP_INTEGRATION, FINANCE, PRICING_MANAGER, roles_sync
from pricing_signals.models import Competitor, PriceClaim
from pricing_signals.services.sweep import signals_detect
from rebates.engine import rule_kind
from rebates.engine.money import quantize_money
from rebates.models import (
    EARNED_KINDS,
    AccrualRun,
    BonusCondition,
    ContractPrice,
    ExchangeRate,
    LedgerEntry,
    LineDiscount,
    Product,
    ProductLine,
    ProductUnit,
    PurchaseLine,
    RebateAgreement,
    RebateProgram,
    RebateRule,
    TierBand,
)
from rebates.selectors import ZERO
from rebates.services import accrual_due, accrual_run_perform, accrual_run_start, settlements_close_due

SEED = 2026
DEMO_PASSWORD = "rebate-demo-2026"
MONTHS = tuple(date(2026, month, 1) for month in range(1, 13))
TERM_START, TERM_END = MONTHS[0], MONTHS[-1]
DEMO_YEAR_END = date(2026, 12, 31)
ERP_LINE_PREFIX = "DEMO-"

# username, first name, last name, role
USERS = (
    ("am.north", "Nora", "Lindqvist", ACCOUNT_MANAGER),
    ("am.south", "Samuel", "Okafor", ACCOUNT_MANAGER),
    ("am.west", "Wendy", "Castillo", ACCOUNT_MANAGER),
    ("pricing", "Priya", "Raman", PRICING_MANAGER),
    ("finance", "Felix", "Brandt", FINANCE),
    ("erp", "ERP", "Integration", ERP_INTEGRATION),
    ("admin", "Ada", "Moreau", ADMINISTRATOR),
)
ACCOUNT_MANAGERS = ("am.north", "am.south", "am.west")
SEGMENTS = (("industrial-distribution", "Industrial distribution"), ("construction", "Construction contractors"),
            ("oem", "OEM manufacturers"), ("maintenance", "Maintenance and repair"))
PRODUCT_LINES = (("fasteners", "Fasteners"), ("abrasives", "Abrasives"), ("power-tools", "Power tools"),
                 ("safety", "Safety equipment"))
LAUNCH_SKU, LAUNCHED_ON = "PT-305", date(2026, 3, 1)
# sku, name, product line, list price
PRODUCTS = (
    ("FAS-101", "Hex bolt M10x50, box of 50", "fasteners", "13.75"),
    ("FAS-102", "Hex nut M10, box of 100", "fasteners", "8.40"),
    ("FAS-103", "Flat washer M10, box of 200", "fasteners", "6.20"),
    ("FAS-104", "Wood screw 5x60, box of 200", "fasteners", "11.90"),
    ("FAS-105", "Anchor bolt M12, box of 25", "fasteners", "24.50"),
    ("ABR-201", "Cutting disc 125 mm, pack of 10", "abrasives", "18.90"),
    ("ABR-202", "Flap disc 125 mm P60, pack of 10", "abrasives", "32.00"),
    ("ABR-203", "Sanding belt 75x533 P80, pack of 10", "abrasives", "21.50"),
    ("ABR-204", "Grinding wheel 180 mm", "abrasives", "9.80"),
    ("ABR-205", "Abrasive roll P120, 50 m", "abrasives", "27.40"),
    ("PT-301", "Cordless drill 18 V", "power-tools", "149.00"),
    ("PT-302", "Angle grinder 125 mm", "power-tools", "89.00"),
    ("PT-303", "Jigsaw 650 W", "power-tools", "119.00"),
    ("PT-304", "Battery pack 18 V 5 Ah", "power-tools", "79.00"),
    (LAUNCH_SKU, "Cordless impact driver 18 V, gen 3", "power-tools", "169.00"),
    ("SAF-401", "Safety glasses, clear", "safety", "4.90"),
    ("SAF-402", "Work gloves, nitrile, 12 pairs", "safety", "15.60"),
    ("SAF-403", "Ear defenders SNR 30", "safety", "22.00"),
    ("SAF-404", "Hard hat, vented", "safety", "17.50"),
    ("SAF-405", "Hi-vis vest, class 2", "safety", "6.80"),
)
# The customer abroad: it buys, and its agreement books, in euros; the euro has a rate into the default
# currency for every month of the demo's two years (the journal shows its rebate in both).
EURO_CUSTOMER, EURO = "C-1050", "EUR"


def euro_rate(month: date) -> Decimal:
    """The demo's EUR rate in `month`: 1.0400 in January 2025, up half a cent a month."""
    return Decimal("1.0400") + Decimal("0.0050") * ((month.year - 2025) * 12 + month.month - 1)


# The product the ERP also sends in boxes and cases: its lines of whole cases or boxes come in them.
UNITS_SKU, UNITS = "SAF-401", (("case", 120), ("box", 10))
PROGRAMS = (
    ("consumables-2026", "2026 back-end program, fasteners and abrasives"),
    ("equipment-2026", "2026 back-end program, power tools and safety"),
    ("growth-2026", "2026 growth partnership"),
)
LINE_OF = {sku: line for sku, _, line, _ in PRODUCTS}
PROGRAM_OF_LINE = {"fasteners": "consumables-2026", "abrasives": "consumables-2026",
                   "power-tools": "equipment-2026", "safety": "equipment-2026"}
COMPETITORS = ("Apex Supply", "Northline Industrial", "Budget Bolt Direct", "ProTool Wholesale")
CHANNELS = ("call", "email", "visit", "quote")

# The rule fields every rule writes, so a rerun brings a changed rule back to its template.
RULE_BLANK = {"rate": None, "tier_basis": "", "tier_method": "", "baseline": "", "baseline_amount": None,
              "minimum": None, "cap": None, "commitment_rule": False}
TIERED_ON_QUANTITY = {"kind": "tiered", "rate_type": "percent", "tier_basis": "quantity"}  # percent bands
RULES = {
    "seed": {"kind": "per_unit", "rate_type": "per_unit", "rate": Decimal("0.25")},
    "per_unit": {"kind": "per_unit", "rate_type": "per_unit", "rate": Decimal("0.20")},
    "percent": {"kind": "percent", "rate_type": "percent", "rate": Decimal("2")},
    "tiered_retroactive": {**TIERED_ON_QUANTITY, "tier_method": "retroactive"},
    "tiered_incremental": {**TIERED_ON_QUANTITY, "tier_method": "incremental"},
    "growth": {"kind": "growth", "rate_type": "percent", "rate": Decimal("5"), "baseline": "stated"},
    "capped": {"kind": "percent", "rate_type": "percent", "rate": Decimal("3"), "cap": Decimal("1500.00")},
    "launch_bonus": {"kind": "percent", "rate_type": "percent", "rate": Decimal("2")},
    "commitment": {"kind": "per_unit", "rate_type": "per_unit", "rate": Decimal("0.15"), "commitment_rule": True},
}
RULE_CYCLE = tuple(name for name in RULES if name != "seed")
# docs/product.md's worked example 2: below 1,000 units 1 %, from 1,000 2 %, from 5,000 3 %.
TIER_BANDS = ((Decimal(0), Decimal(1)), (Decimal(1000), Decimal(2)), (Decimal(5000), Decimal(3)))
LAUNCH_BONUS_MINIMUM, LAUNCH_BONUS_PERCENT = Decimal(100), Decimal(1)

CUSTOMER_COUNT = 59  # plus the seed customer
PLACES = ("Northgate", "Riverside", "Summit", "Ironwood", "Bayview", "Cedar", "Granite", "Lakeshore", "Pioneer",
          "Redstone", "Silverline", "Oakridge", "Westbrook", "Keystone", "Highland", "Copperfield", "Maple",
          "Stonebridge", "Clearwater", "Eastfield")
TRADES = ("Industrial Supply", "Builders", "Maintenance", "Fabrication", "Hardware", "Contractors",
          "Engineering", "Tool Centre")
TIER_WEIGHTS = ("strategic",) + ("key",) * 2 + ("standard",) * 4 + ("small",) * 2
MONTHLY_UNITS = {"strategic": (350, 600), "key": (150, 300), "standard": (40, 120), "small": (10, 30)}
FREQUENCIES = ("annual",) * 6 + ("quarterly",) * 3 + ("monthly",)
LOST = {17: date(2026, 6, 30), 41: date(2026, 6, 30)}  # customer index: lost on (agreement terminated)

SEED_CODE, SEED_NAME, SEED_SKU = "SEED-001", "Harbor Fasteners", "FAS-101"  # FAS-101 at 12 % off: $12.10
# The seed customer's claims (April and June stay alone) and the two that echo September: customer index,
# date, price, channel. 11.38 to 11.45 is within 2 % and 8 to 22 September within 30 days.
SEED_CLAIMS = ((None, date(2026, 4, 14), "11.40", "call"), (None, date(2026, 6, 10), "11.40", "email"),
               (None, date(2026, 9, 8), "11.40", "visit"), (1, date(2026, 9, 15), "11.45", "call"),
               (2, date(2026, 9, 22), "11.38", "quote"))
ECHO_CUSTOMERS = {index for index, *_ in SEED_CLAIMS if index is not None}  # they buy the seed product
# Lone claims on other products, never three within 30 days, so they cannot witness a signal.
SCATTERED_CLAIMS = ((5, date(2026, 2, 3)), (11, date(2026, 3, 17)), (23, date(2026, 5, 6)),
                    (30, date(2026, 7, 21)), (37, date(2026, 8, 12)), (48, date(2026, 10, 27)),
                    (53, date(2026, 11, 18)))


@dataclass(frozen=True)
class CustomerPlan:
    """One demo customer and its agreement: what it buys, how much a month, at what price."""

    code: str
    name: str
    segment: str
    manager: str
    tier: str
    sku: str  # the product the agreement is priced on
    other_skus: tuple[str, ...]  # also bought: in a line scope, the launch product, or unmatched
    by_line: bool  # scope is the product's line rather than the product
    rule: str
    monthly_units: int
    discount: int  # percent off list
    frequency: str = "annual"
    lost_on: date | None = None
    review: bool = False  # a 3 % mid-year price review from July
    steady: bool = False  # the same quantity every month (the seed)


SEED_PLAN = CustomerPlan(SEED_CODE, SEED_NAME, "industrial-distribution", "am.north", "small", SEED_SKU, (),
                         by_line=False, rule="seed", monthly_units=10, discount=12, steady=True)


@dataclass(frozen=True)
class DemoSummary:
    logins: tuple[tuple[str, str, str], ...]  # username, role, password
    erp_token: str
    counts: dict[str, int]
    created: dict[str, int]
    as_of: date  # accrued as of
    # Per currency of the agreements (their customers'), never one sum across currencies:
    accrued: dict[str, Decimal]  # earned to date over all the demo's agreements
    unpaid: dict[str, Decimal]  # the ledger's balance: earned less paid and forfeited


def row_counts():
    """Rows per table of the three apps plus users, groups and API tokens."""
    models = [get_user_model(), Group, Token]
    for label in ("customers", "rebates", "pricing_signals"):
        models += apps.get_app_config(label).get_models(include_auto_created=True)
    return {model._meta.label: model._default_manager.count() for model in models}


def load_demo(*, as_of: date | None = None):
    """Load (or bring back) the demo data and accrue it as of `as_of` (default today); a second call the
    same day creates and changes nothing."""
    as_of = as_of or clock.today()
    before = row_counts()
    token = _demo_sync(as_of=as_of)
    demo_accrue(as_of=as_of)
    after = row_counts()
    logins = tuple((username, role, DEMO_PASSWORD) for username, _, _, role in USERS)
    money = list(LedgerEntry.objects.order_by().values("agreement__customer__currency")
                 .annotate(accrued=Coalesce(Sum("amount", filter=Q(kind__in=EARNED_KINDS)), ZERO),
                           unpaid=Coalesce(Sum("amount"), ZERO))
                 .values_list("agreement__customer__currency", "accrued", "unpaid"))
    return DemoSummary(logins, token.key, after, {label: after[label] - before[label] for label in after}, as_of,
                       {code: accrued for code, accrued, _ in money}, {code: unpaid for code, _, unpaid in money})


def demo_accrue(*, as_of: date):
    """Accrue the demo data as of `as_of` and close the settlement periods ended by then, as the nightly run
    does; demo data already accrued to that month with nothing changed since gets no run at all."""
    if accrual_due(as_of=as_of):
        run = accrual_run_start(as_of=as_of, trigger=AccrualRun.Trigger.COMMAND, queue=False)
        accrual_run_perform(run_id=run.pk)  # closes the ended settlement periods as well
    else:
        settlements_close_due(as_of=as_of)


@transaction.atomic
def _demo_sync(*, as_of: date):
    """The demo's rows, brought to the plan; returns the ERP user's API token."""
    rng = random.Random(SEED)
    roles_sync()
    users = _users_sync()
    token, _ = Token.objects.get_or_create(user=users["erp"])
    segments = {code: _sync(Segment, {"code": code}, name=name) for code, name in SEGMENTS}
    products = _catalogue_sync()
    programs = {code: _sync(RebateProgram, {"code": code}, name=name) for code, name in PROGRAMS}
    plans = [SEED_PLAN, *_customer_plans(rng)]
    customers = {}
    for plan in plans:
        customers[plan.code] = _sync(
            Customer, {"code": plan.code}, name=plan.name, segment=segments[plan.segment],
            account_manager=users[plan.manager], status="lost" if plan.lost_on else "active",
            lost_on=plan.lost_on, currency=EURO if plan.code == EURO_CUSTOMER else settings.DEFAULT_CURRENCY,
        )
        _agreement_sync(plan, customers[plan.code], products, programs)
    if EURO != settings.DEFAULT_CURRENCY:
        for month in (date(year, number, 1) for year in (2025, 2026) for number in range(1, 13)):
            _sync(ExchangeRate, {"currency": EURO, "to_currency": settings.DEFAULT_CURRENCY, "month": month},
                  rate=euro_rate(month))
    _purchases_sync(plans, customers, products)
    _group_sync(users, segments, products, programs)
    _claims_sync(rng, plans, customers, products, users)
    _contacts_sync(plans, customers, users, as_of=as_of)
    # Detection as the nightly sweep would run it, seen from the end of the demo year (or `as_of`, when
    # later): September's claims form the seed signal, April's and June's are unsubstantiated.
    signals_detect(as_of=max(as_of, DEMO_YEAR_END))
    return token


# A buying group of three (docs/buying-groups.md's worked example, every quarter): its members buy 400, 300 and
# 500 units of FAS-102 at $10.00, one member a month (in 2025 as in 2026); the group's quarterly agreement pays
# 1 % to 1,000 units and 2 % from 1,000, retroactive, split among the members: $240.00 a quarter, $80.00, $60.00
# and $100.00.
GROUP = ("G-3001", "Pioneer Buying Group", "am.north")
GROUP_MEMBERS = (("C-3101", "Pioneer Tools Westside", "am.north", 400),
                 ("C-3102", "Pioneer Fixings", "am.south", 300),
                 ("C-3103", "Pioneer Site Supply", "am.west", 500))
GROUP_SKU, GROUP_PRICE = "FAS-102", Decimal("10.00")
GROUP_BANDS = ((Decimal(0), Decimal(1)), (Decimal(1000), Decimal(2)))


def _group_sync(users, segments, products, programs):
    """The demo's buying group, its members, its agreement and the members' purchases."""
    code, name, manager = GROUP
    group = _sync(Customer, {"code": code}, name=name, segment=segments["industrial-distribution"],
                  account_manager=users[manager], is_group=True)
    product = products[GROUP_SKU]
    for number, (member_code, member_name, member_manager, units) in enumerate(GROUP_MEMBERS):
        member = _sync(Customer, {"code": member_code}, name=member_name, segment=segments["construction"],
                       account_manager=users[member_manager])
        _sync(GroupMembership, {"group": group, "member": member, "joined": TERM_START}, ended=None)
        # Last year's quarters too (the same purchases), as every other demo customer has them.
        for quarter in range(8):
            month = (date(2025, 1, 1) if quarter < 4 else TERM_START).replace(month=quarter % 4 * 3 + number + 1)
            _sync(PurchaseLine, {"erp_line_id": f"{ERP_LINE_PREFIX}{member_code}-{GROUP_SKU}-{month:%Y-%m}"},
                  customer=member, product=product, month=month, quantity=Decimal(units), unit_price=GROUP_PRICE,
                  amount=quantize_money(units * GROUP_PRICE), source=PurchaseLine.Source.MANUAL)
    agreement = _sync(RebateAgreement, {"number": f"AG-{code}-2026"}, customer=group,
                      program=programs[PROGRAM_OF_LINE[LINE_OF[GROUP_SKU]]], start_month=TERM_START,
                      end_month=TERM_END, committed_monthly_quantity=None, settlement_frequency="quarterly",
                      status="active", group_payout=RebateAgreement.GroupPayout.SPLIT)
    agreement.products.set([product])
    _sync(ContractPrice, {"agreement": agreement, "product": product, "effective_from": TERM_START},
          net_price=GROUP_PRICE, reason="contract start")
    rule = _sync(RebateRule, {"agreement": agreement},
                 **{**RULE_BLANK, **TIERED_ON_QUANTITY, "tier_method": "retroactive"})
    for threshold, rate in GROUP_BANDS:
        _sync(TierBand, {"rule": rule, "threshold": threshold}, rate=rate)


def _sync(model, lookup, **values):
    """The row with this natural key, brought to `values`; saved only when something differs."""
    obj, created = model.objects.get_or_create(**lookup, defaults=values)
    # Foreign keys compare by id, so an unchanged row costs no query beyond its own.
    stored = {name: getattr(obj, obj._meta.get_field(name).attname) for name in values}
    changed = {name: v for name, v in values.items() if stored[name] != (v.pk if isinstance(v, Model) else v)}
    if changed and not created:
        for name, value in changed.items():
            setattr(obj, name, value)
        obj.save()
    return obj


def _users_sync():
    users = {}
    for username, first_name, last_name, role in USERS:
        admin = role == ADMINISTRATOR
        user = _sync(get_user_model(), {"username": username}, first_name=first_name, last_name=last_name,
                     email=f"{username}@example.com", is_active=True, is_staff=admin, is_superuser=admin)
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        user.groups.set([Group.objects.get(name=role)])
        users[username] = user
    return users


def _catalogue_sync():
    lines = {code: _sync(ProductLine, {"code": code}, name=name) for code, name in PRODUCT_LINES}
    products = {
        sku: _sync(Product, {"sku": sku}, name=name, product_line=lines[line], list_price=Decimal(price),
                   launched_on=LAUNCHED_ON if sku == LAUNCH_SKU else None)
        for sku, name, line, price in PRODUCTS
    }
    for code, size in UNITS:
        _sync(ProductUnit, {"product": products[UNITS_SKU], "code": code}, base_quantity=Decimal(size))
    return products


def _as_sent(line):
    """A line of the units product that is a whole number of cases or boxes, as the ERP sends it: in them
    (its base figures unchanged)."""
    if line.product.sku != UNITS_SKU:
        return line
    for code, size in UNITS:
        if line.quantity % size == 0:
            line.unit, line.quantity_in_unit, line.unit_price_in_unit = code, line.quantity / size, \
                line.unit_price * size
            break
    return line


def _customer_plans(rng):
    regular = [sku for sku, *_ in PRODUCTS if sku != LAUNCH_SKU]
    plans = []
    for i in range(CUSTOMER_COUNT):
        rule = RULE_CYCLE[i % len(RULE_CYCLE)]
        tier = rng.choice(TIER_WEIGHTS)
        segment = rng.choice(SEGMENTS)[0]
        if i in ECHO_CUSTOMERS:
            sku = SEED_SKU
        elif rule == "launch_bonus":
            sku = rng.choice([s for s in regular if LINE_OF[s] == "power-tools"])
        else:
            sku = rng.choice(regular)
        by_line = rule == "launch_bonus" or rng.randrange(10) < 4
        others = []
        if by_line:
            others.append(rng.choice([s for s in regular if LINE_OF[s] == LINE_OF[sku] and s != sku]))
        if rule == "launch_bonus":
            others.append(LAUNCH_SKU)
        if i % 10 == 7:  # something outside the scope: an unmatched purchase
            others.append(rng.choice([s for s in regular if LINE_OF[s] != LINE_OF[sku]]))
        plans.append(CustomerPlan(
            code=f"C-{1001 + i}", name=f"{PLACES[i % 20]} {TRADES[(i % 20 + 21 * (i // 20)) % len(TRADES)]}",
            segment=segment, manager=ACCOUNT_MANAGERS[i % 3], tier=tier, sku=sku, other_skus=tuple(others),
            by_line=by_line, rule=rule, monthly_units=rng.randint(*MONTHLY_UNITS[tier]),
            discount=rng.randint(6, 14), frequency=rng.choice(FREQUENCIES), lost_on=LOST.get(i), review=i % 7 == 5,
        ))
    return plans


def _net_price(plan, product, month=TERM_START):
    price = quantize_money(product.list_price * (100 - plan.discount) / 100)
    if plan.review and month >= date(2026, 7, 1):
        price = quantize_money(price * Decimal("1.03"))
    return price


def _agreement_sync(plan, customer, products, programs):
    product = products[plan.sku]
    program = "growth-2026" if plan.rule == "growth" else PROGRAM_OF_LINE[LINE_OF[plan.sku]]
    agreement = _sync(
        RebateAgreement, {"number": "AG-SEED-2026" if plan.rule == "seed" else f"AG-{plan.code}-2026"},
        customer=customer, program=programs[program], start_month=TERM_START, end_month=TERM_END,
        committed_monthly_quantity=Decimal(max(10, plan.monthly_units // 10 * 10)),
        settlement_frequency=plan.frequency, status="terminated" if plan.lost_on else "active",
        terminated_on=plan.lost_on,
    )
    agreement.products.set([] if plan.by_line else [product])
    agreement.product_lines.set([product.product_line_id] if plan.by_line else [])
    # Each product its own price: the product bought at its stated price; a line scope's other products at
    # the same discount off their list price.
    _sync(ContractPrice, {"agreement": agreement, "product": product, "effective_from": TERM_START},
          net_price=_net_price(plan, product), reason="contract start")
    if plan.by_line:
        _sync(LineDiscount, {"agreement": agreement, "product_line_id": product.product_line_id,
                             "effective_from": TERM_START},
              discount_percent=Decimal(plan.discount), reason="contract start")
    if plan.review:
        _sync(ContractPrice, {"agreement": agreement, "product": product, "effective_from": date(2026, 7, 1)},
              net_price=_net_price(plan, product, date(2026, 7, 1)), reason="mid-year price review")
    values = {**RULE_BLANK, **RULES[plan.rule]}
    if values["baseline"] == "stated":
        # Last year's purchases, stated in round hundreds, about a tenth below this year's plan.
        yearly = plan.monthly_units * 12 * _net_price(plan, product) * Decimal("0.9")
        values["baseline_amount"] = Decimal(int(yearly / 100) * 100)
    rule = _sync(RebateRule, {"agreement": agreement}, **values)
    if rule_kind(values["kind"]).banded:
        for threshold, rate in TIER_BANDS:
            _sync(TierBand, {"rule": rule, "threshold": threshold}, rate=rate)
    if plan.rule == "launch_bonus":
        _sync(BonusCondition, {"rule": rule, "kind": "product_launch", "product": products[LAUNCH_SKU]},
              minimum_quantity=LAUNCH_BONUS_MINIMUM, extra_percent=LAUNCH_BONUS_PERCENT)
    return agreement


def _purchase_rows(plan, customer, products):
    """A year of monthly lines (until the customer was lost), drawn from the plan's own generator."""
    rng = random.Random(f"{SEED}-{plan.code}")
    for sku in (plan.sku, *plan.other_skus):
        product = products[sku]
        units = plan.monthly_units if sku == plan.sku else max(5, plan.monthly_units // 3)
        for month in MONTHS:
            if (plan.lost_on and month > plan.lost_on) or (product.launched_on and month < product.launched_on):
                continue
            quantity = Decimal(units if plan.steady else max(1, units * rng.randint(75, 125) // 100))
            unit_price = _net_price(plan, product, month)
            yield PurchaseLine(
                erp_line_id=f"{ERP_LINE_PREFIX}{plan.code}-{sku}-{month:%Y-%m}", customer=customer,
                product=product, month=month, quantity=quantity, unit_price=unit_price,
                amount=quantize_money(quantity * unit_price), source=PurchaseLine.Source.MANUAL,
            )


# Last year's purchases (2025) of the product each agreement is priced on, so forecasts follow last year's
# seasons and a customer buying less than last year shows: against this year's plan, a factor in percent
# drawn per customer (above 100: this year is falling) and a season that peaks in spring and autumn.
LAST_YEAR_FACTORS = (80, 90, 95, 100, 105, 115, 130, 150)
LAST_YEAR_SEASON = (85, 90, 105, 115, 110, 95, 80, 85, 105, 115, 115, 100)


def _last_year_rows(plan, customer, products):
    """2025's monthly lines of the plan's own product; none for the seed customer (its year is the worked
    example, bought only in 2026)."""
    if plan.steady:
        return
    rng = random.Random(f"{SEED}-{plan.code}-last-year")
    factor = rng.choice(LAST_YEAR_FACTORS)
    product = products[plan.sku]
    unit_price = quantize_money(_net_price(plan, product) * Decimal("0.97"))
    for number, season in enumerate(LAST_YEAR_SEASON, start=1):
        month = date(2025, number, 1)
        quantity = Decimal(max(1, plan.monthly_units * factor * season // 10000))
        yield PurchaseLine(
            erp_line_id=f"{ERP_LINE_PREFIX}{plan.code}-{plan.sku}-{month:%Y-%m}", customer=customer,
            product=product, month=month, quantity=quantity, unit_price=unit_price,
            amount=quantize_money(quantity * unit_price), source=PurchaseLine.Source.MANUAL,
        )


PURCHASE_FIELDS = ("customer_id", "product_id", "month", "quantity", "unit_price", "amount", "source", "unit",
                   "quantity_in_unit", "unit_price_in_unit")


def _purchases_sync(plans, customers, products):
    """Upsert by erp_line_id, set-based: new lines in one bulk insert, changed ones in one bulk update."""
    existing = {line.erp_line_id: line for line in PurchaseLine.objects.filter(erp_line_id__startswith=ERP_LINE_PREFIX)}
    new, changed, now = [], [], clock.now()
    for plan in plans:
        for row in chain(_last_year_rows(plan, customers[plan.code], products),
                         _purchase_rows(plan, customers[plan.code], products)):
            row = _as_sent(row)
            line = existing.get(row.erp_line_id)
            if line is None:
                new.append(row)
            elif any(getattr(line, name) != getattr(row, name) for name in PURCHASE_FIELDS):
                for name in PURCHASE_FIELDS:
                    setattr(line, name, getattr(row, name))
                line.updated_at = now
                changed.append(line)
    PurchaseLine.objects.bulk_create(new, batch_size=1000)
    PurchaseLine.objects.bulk_update(changed, [*PURCHASE_FIELDS, "updated_at"], batch_size=1000)


def _claims_sync(rng, plans, customers, products, users):
    """Claims keyed on (customer, product, competitor, reported on); status and signal are detection's."""
    competitors = {name: _sync(Competitor, {"name": name}) for name in COMPETITORS}
    claims = []  # plan, product, competitor, reported on, price, channel
    for index, reported_on, price, channel in SEED_CLAIMS:
        plan = plans[0] if index is None else plans[1 + index]
        claims.append((plan, SEED_SKU, COMPETITORS[0], reported_on, Decimal(price), channel))
    for index, reported_on in SCATTERED_CLAIMS:
        plan = plans[1 + index]
        competitor, channel, cut = rng.choice(COMPETITORS[1:]), rng.choice(CHANNELS), rng.randint(4, 9)
        if plan.sku != SEED_SKU:  # the seed product's story is the seed scenario's alone
            price = quantize_money(_net_price(plan, products[plan.sku], reported_on.replace(day=1)) * (100 - cut) / 100)
            claims.append((plan, plan.sku, competitor, reported_on, price, channel))
    for plan, sku, competitor, reported_on, price, channel in claims:
        _sync(PriceClaim, {"customer": customers[plan.code], "product": products[sku],
                           "competitor": competitors[competitor], "reported_on": reported_on},
              claimed_price=price, channel=channel, reported_by=users[plan.manager],
              note=f"{competitor} offers {sku} at {price}.")


# Days before the as-of date of each demo customer's last contact, in turn (None: never contacted), so the
# contact plan shows customers overdue, due soon and seen lately.
CONTACT_AGES = (None, 10, 40, 100, 200)
CONTACT_KINDS = ("call", "visit", "email", "meeting")


def _contacts_sync(plans, customers, users, *, as_of: date):
    """Contacts the managers logged with their active customers, made once for a customer that has none."""
    contacted = set(Contact.objects.filter(customer__in=customers.values()).values_list("customer_id", flat=True))
    for i, plan in enumerate(plans):
        customer, age = customers[plan.code], CONTACT_AGES[i % len(CONTACT_AGES)]
        if plan.lost_on or age is None or customer.pk in contacted:
            continue
        Contact.objects.create(customer=customer, manager=users[plan.manager], kind=CONTACT_KINDS[i % 4],
                               contacted_on=as_of - timedelta(days=age),
                               note=f"Reviewed {plan.name}'s purchases and rebate to date.")
