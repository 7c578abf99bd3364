"""Reads of the outlook: contacts due, the value × risk grid, a customer's risk and contacts. Every read starts
from `visible_to(user)`."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from operator import itemgetter
from urllib.parse import quote

from django.conf import settings
from django.db.models import (
    Count,
    F,
    Max,
    OuterRef,
    Subquery,
    Sum,
    Window,
)
from django.db.models.functions import RowNumber
from django.shortcuts import get_object_or_404
from django.urls import reverse

from customers.models import DEFAULT_CONTACT_CADENCES, Contact, ContactCadence, Customer
from outlook import sql
from outlook.models import TodayWatch
from pricing_signals.models import PriceClaim
from pricing_signals.selectors import CustomerSignal, OpenSignal
from rebates.engine.periods import month_of
from rebates.engine.words import money
from rebates.models import AgreementBalance

TIERS = tuple(Customer.ValueTier.values)  # A, B, C: most valuable first
LEVELS = ("high", "medium", "low")  # highest risk first
LEVEL_NAMES = dict(Customer.RiskLevel.choices)


@dataclass(frozen=True)
class PlannedContact:
    """An active customer in the contact plan: its last contact (a logged contact or a price claim reported,
    whichever is later; None: never), its cell's cadence, the day its next contact is due (None when never
    contacted: due now) and its unpaid rebate at stake."""

    pk: int
    code: str
    name: str
    account_manager: str | None
    value_tier: str
    risk_level: str
    risk_points: int
    at_stake: Decimal
    last_contact_on: date | None
    cadence_days: int | None
    due_on: date | None

    @property
    def risk_level_name(self) -> str:
        return LEVEL_NAMES.get(self.risk_level, self.risk_level)

    def sort_key(self):
        """Highest value, then highest risk, then the most at stake, then the longest overdue."""
        return (self.value_tier, LEVELS.index(self.risk_level), -self.at_stake, self.due_on or date.min, self.code)


# What the contact plan reads of each customer; a caller that has read them (the dashboard) passes them in.
PLAN_FIELDS = ("pk", "code", "name", "account_manager__username", "value_tier", "risk_level", "risk_points", "status")


def contact_plan(*, user, customers=None, at_stake: dict | None = None, read: list[dict] | None = None
                 ) -> list[PlannedContact]:
    """The active customers the user may see (`customers`: a queryset of them, to narrow it) in the contact
    plan. Three grouped queries however many customers (two when the caller has each customer's unpaid
    rebate already, `at_stake`): the customers with their cell's cadence (a unique-key lookup), their last
    contacts and claims (one union), their unpaid balances; no per-customer aggregate for the planner to get
    wrong. `read`: every customer the user may see, as dicts of PLAN_FIELDS the caller read through
    `visible_to(user)` this request: then the nine cadences are read instead of the customers."""
    visible = Customer.objects.visible_to(user).active()
    if customers is not None:
        visible = visible.filter(pk__in=customers.values("pk"))
    if read is not None and customers is None:
        cadences = {(tier, level): days for tier, level, days in
                    ContactCadence.objects.values_list("value_tier", "risk_level", "days")}
        rows = [(row["pk"], row["code"], row["name"], row["account_manager__username"], row["value_tier"],
                 row["risk_level"], row["risk_points"], cadences.get((row["value_tier"], row["risk_level"])))
                for row in read if row["status"] == Customer.Status.ACTIVE]
    else:
        cadence = ContactCadence.objects.filter(value_tier=OuterRef("value_tier"), risk_level=OuterRef("risk_level"))
        rows = list(visible.order_by().annotate(cadence=Subquery(cadence.values("days")[:1]))
                    .values_list(*PLAN_FIELDS[:-1], "cadence"))
    if not rows:
        return []
    ids = visible.values("pk")
    last: dict[int, date] = {}
    contacts = (Contact.objects.filter(customer__in=ids).order_by().values("customer_id")
                .annotate(last=Max("contacted_on")).values_list("customer_id", "last"))
    claims = (PriceClaim.objects.filter(customer__in=ids).order_by().values("customer_id")
              .annotate(last=Max("reported_on")).values_list("customer_id", "last"))
    for customer_id, day in contacts.union(claims, all=True):
        if customer_id not in last or day > last[customer_id]:
            last[customer_id] = day
    if at_stake is None:
        at_stake = dict(AgreementBalance.objects.filter(agreement__customer__in=ids).order_by()
                        .values("agreement__customer_id").annotate(total=Sum("unpaid"))
                        .values_list("agreement__customer_id", "total"))
    planned = []
    for pk, code, name, manager, tier, level, points, days in rows:
        # A cell without a row (an administrator deleted it) takes the default days.
        days = days if days is not None else DEFAULT_CONTACT_CADENCES.get((tier, level))
        contacted = last.get(pk)
        due = contacted + timedelta(days=days) if contacted is not None and days is not None else None
        planned.append(PlannedContact(pk, code, name, manager, tier, level, points,
                                      at_stake.get(pk) or Decimal("0.00"), contacted, days, due))
    return planned


def contacts_due(*, user, as_of: date, at_stake: dict | None = None, read: list[dict] | None = None
                 ) -> list[PlannedContact]:
    """Customers whose next contact is due by as_of + OUTLOOK_CONTACT_DUE_AHEAD_DAYS (overdue ones and the
    never contacted included): highest value and risk first, then the most rebate at stake, then the longest
    overdue. `read`: as `contact_plan` takes it."""
    ahead = as_of + timedelta(days=settings.OUTLOOK_CONTACT_DUE_AHEAD_DAYS)
    due = [row for row in contact_plan(user=user, at_stake=at_stake, read=read)
           if row.due_on is None or row.due_on <= ahead]
    due.sort(key=PlannedContact.sort_key)
    return due


@dataclass(frozen=True)
class TodayItem:
    """One thing to do today, with the customer, why in words, and the money at stake."""

    kind: str  # "contact", or a watchlist kind (pages/watchlist.py)
    customer_code: str
    customer_name: str
    url: str
    value_tier: str
    risk_level: str
    why: str
    at_stake: Decimal
    due_on: date | None
    overdue_days: int | None
    detail_url: str | None = None  # the page the reason is about (an agreement, a claim, a signal), if any


def customer_urls():
    """A function from a customer's code to its page's URL, the URL reversed once for a whole list."""
    pattern = reverse("customer-detail", args=["-"]).replace("/-/", "/{}/")
    return lambda code: pattern.format(quote(code, safe=""))


def customer_url(code: str) -> str:
    return customer_urls()(code)


def due_words(due_on: date | None, last_contact_on: date | None, as_of: date) -> tuple[str, int | None]:
    """How a due contact reads, and the days it is overdue (None when not yet due or never contacted)."""
    if due_on is None:
        return "Never contacted: get in touch.", None
    if due_on < as_of:
        days = (as_of - due_on).days
        return f"Contact overdue by {days} day{'s' if days != 1 else ''} (last {last_contact_on:%Y-%m-%d}).", days
    if due_on == as_of:
        return f"Contact due today (last {last_contact_on:%Y-%m-%d}).", 0
    return f"Contact due on {due_on:%Y-%m-%d} (last {last_contact_on:%Y-%m-%d}).", None


def today_key(at_stake: Decimal, value_tier: str, risk_level: str, customer_code: str, kind: str,
              agreement_number: str | None = None) -> tuple:
    """Where a thing to do stands today: the most money at stake first, then highest value, then highest risk,
    then by customer; a customer's contact before its watches, these by kind and agreement."""
    return (-at_stake, value_tier, LEVELS.index(risk_level), customer_code, kind != "contact", kind,
            agreement_number or "")


def today_candidate(item: TodayItem, agreement_number: str | None = None) -> tuple:
    """An item already made, as `today_items` takes its `extra`: (its today_key, a function giving it)."""
    return (today_key(item.at_stake, item.value_tier, item.risk_level, item.customer_code, item.kind,
                      agreement_number), lambda: item)


def today_items(*, user, as_of: date, limit: int = 10, extra=(), at_stake: dict | None = None,
                read: list[dict] | None = None) -> tuple[list[TodayItem], int]:
    """What to do today for the dashboard: the contacts due (as `contacts_due`; `at_stake`: each customer's
    unpaid rebate when the caller has read it; `read`: the customers, as `contact_plan` takes them) and any
    `extra` items (the watchlist's, each as its `today_key` and a function making it), in today_key order;
    the first `limit` and how many there are in all. Only the first `limit` are put in words. Two or three
    queries."""
    url = customer_urls()

    def contact(row: PlannedContact) -> TodayItem:
        why, overdue = due_words(row.due_on, row.last_contact_on, as_of)
        return TodayItem("contact", row.code, row.name, url(row.code), row.value_tier, row.risk_level, why,
                         row.at_stake, row.due_on, overdue)

    candidates = [(today_key(row.at_stake, row.value_tier, row.risk_level, row.code, "contact"), partial(contact, row))
                  for row in contacts_due(user=user, as_of=as_of, at_stake=at_stake, read=read)]
    candidates.extend(extra)
    candidates.sort(key=itemgetter(0))
    return [make() for _, make in candidates[:limit]], len(candidates)


def today_watches(*, user, customers: dict[int, tuple[str, str, str, str]] | None = None
                  ) -> list[tuple[int, str, str, str, str, str, str]]:
    """The standing watches the last outlook refresh stored for the customers the user may see, as
    (customer id, code, name, value tier, risk level, kind, words) in plain text columns. One query.
    `customers`: each customer the user may see, by id, as (code, name, value tier, risk level), read by
    the caller this request: then the watches' own columns are read, not each customer's row again."""
    watches = TodayWatch.objects.filter(customer__in=Customer.objects.visible_to(user).values("pk")).order_by()
    if customers is None:
        return list(watches.values_list("customer_id", "customer__code", "customer__name", "customer__value_tier",
                                        "customer__risk_level", "kind", "words"))
    return [(customer_id, *customers[customer_id], kind, words)
            for customer_id, kind, words in watches.values_list("customer_id", "kind", "words")
            if customer_id in customers]


def page_open_signals(*, visible_customer_ids, signals: list[OpenSignal], as_of: date
                      ) -> dict[int, list[CustomerSignal]]:
    """Per customer of `visible_customer_ids` (a page of customers read through `visible_to(user)`): the open
    signals among `signals` (the user's `open_signal_list`) it is exposed to or whose claims it made, newest
    signal first: what pricing_signals.selectors.open_signals_by_customer gives for them, in one query
    (outlook.sql.customers_open_signals) instead of six and the Python that joins them."""
    by_pk = {signal.pk: signal for signal in signals}
    found: dict[int, list[CustomerSignal]] = {}
    for customer_id, signal_id, claimed in sql.customers_open_signals(
            customer_ids=list(visible_customer_ids),
            signals=[(signal.pk, signal.product_id, signal.product_line_id, signal.median_price) for signal in signals],
            on=as_of, month=month_of(as_of)):
        found.setdefault(customer_id, []).append(CustomerSignal(by_pk[signal_id], claimed=claimed))
    for marks in found.values():
        marks.sort(key=lambda mark: -mark.signal.pk)
    return found


# --- the value × risk grid ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridCustomer:
    code: str
    name: str
    url: str
    value_tier: str
    risk_level: str
    risk_points: int


@dataclass(frozen=True)
class GridCell:
    value_tier: str
    risk_level: str
    count: int
    customers: tuple[GridCustomer, ...]  # the top of the cell, by risk points


def value_risk_grid(*, user, per_cell: int = 20) -> list[GridCell]:
    """The nine cells of value tier × risk level over the user's active customers: each cell's count (counted
    by the database) and its `per_cell` customers with the most risk points. Two queries."""
    customers = Customer.objects.visible_to(user).active().order_by()
    counts = {(row["value_tier"], row["risk_level"]): row["n"]
              for row in customers.values("value_tier", "risk_level").annotate(n=Count("pk"))}
    ranked = (customers.annotate(place=Window(RowNumber(), partition_by=[F("value_tier"), F("risk_level")],
                                              order_by=[F("risk_points").desc(), F("code").asc()]))
              .filter(place__lte=per_cell)
              .values_list("code", "name", "value_tier", "risk_level", "risk_points")
              .order_by("value_tier", "risk_level", "-risk_points", "code"))
    tops: dict[tuple[str, str], list[GridCustomer]] = {}
    url = customer_urls()
    for code, name, tier, level, points in ranked:
        tops.setdefault((tier, level), []).append(GridCustomer(code, name, url(code), tier, level, points))
    return [GridCell(tier, level, counts.get((tier, level), 0), tuple(tops.get((tier, level), ())))
            for tier in TIERS for level in LEVELS]


def value_risk_rows(*, user) -> list[dict]:
    """Every active customer the user may see with its value tier, risk (level, points, reasons, as of) and
    rebate at stake, for the .xlsx: highest value and risk first. Two queries."""
    visible = Customer.objects.visible_to(user).active()
    at_stake = dict(AgreementBalance.objects.filter(agreement__customer__in=visible.values("pk")).order_by()
                    .values("agreement__customer_id").annotate(total=Sum("unpaid"))
                    .values_list("agreement__customer_id", "total"))
    rows = list(visible.order_by().values("pk", "code", "name", "account_manager__username", "value_tier",
                                          "risk_level", "risk_points", "risk_reasons", "valued_on"))
    for row in rows:
        row["at_stake"] = at_stake.get(row["pk"]) or Decimal("0.00")
        row["risk_level_name"] = LEVEL_NAMES.get(row["risk_level"], row["risk_level"])
    rows.sort(key=lambda row: (row["value_tier"], LEVELS.index(row["risk_level"]), -row["risk_points"], row["code"]))
    return rows


# --- one customer -------------------------------------------------------------------------------------------


def customer_visible(*, user, code) -> Customer:
    """The customer by code, if the user may see it (404 otherwise)."""
    return get_object_or_404(Customer.objects.visible_to(user).select_related("account_manager"), code=code)


@dataclass(frozen=True)
class ContactRow:
    """A contact as the customer page and the API list it: logged, or a price claim reported."""

    contacted_on: date
    kind: str
    kind_name: str
    manager: str
    note: str
    claim_id: int | None


def customer_contacts(*, user, customer, limit: int = 50) -> list[ContactRow]:
    """The customer's logged contacts and its price claims (each a conversation, its price in the customer's
    currency), newest first."""
    contacts = (Contact.objects.visible_to(user).filter(customer=customer).select_related("manager")
                .order_by("-contacted_on", "-pk")[:limit])
    claims = (PriceClaim.objects.visible_to(user).filter(customer=customer).select_related("reported_by", "product")
              .order_by("-reported_on", "-pk")[:limit])
    rows = [ContactRow(c.contacted_on, c.kind, c.get_kind_display(), c.manager.get_username(), c.note, None)
            for c in contacts]
    rows += [ContactRow(c.reported_on, "price_claim", f"Price claim ({c.get_channel_display().lower()})",
                        c.reported_by.get_username() if c.reported_by else "",
                        f"Claimed {money(c.claimed_price, 2, customer.currency)} for {c.product.sku}", c.pk)
             for c in claims]
    rows.sort(key=lambda row: row.contacted_on, reverse=True)
    return rows[:limit]


def customer_next_contact(*, user, customer) -> dict:
    """The customer's last contact, cadence and next contact date (None: never contacted, due now)."""
    rows = contact_plan(user=user, customers=Customer.objects.filter(pk=customer.pk))
    if not rows:
        return {"last_contact_on": None, "cadence_days": None, "due_on": None}
    return {"last_contact_on": rows[0].last_contact_on, "cadence_days": rows[0].cadence_days,
            "due_on": rows[0].due_on}
