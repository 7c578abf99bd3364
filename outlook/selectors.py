"""Reads of the outlook: contacts due, the value × risk grid, a customer's risk and contacts. Every read starts
from `visible_to(user)`."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DateField,
    DecimalField,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, Greatest, RowNumber
from django.shortcuts import get_object_or_404
from django.urls import reverse

from customers.models import Contact, ContactCadence, Customer
from pricing_signals.models import PriceClaim
from rebates.models import AgreementBalance

ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=16, decimal_places=2))
TIERS = tuple(Customer.ValueTier.values)  # A, B, C: most valuable first
LEVELS = ("high", "medium", "low")  # highest risk first
LEVEL_NAMES = dict(Customer.RiskLevel.choices)
# Risk ordered highest first in SQL.
RISK_RANK = Case(When(risk_level="high", then=Value(0)), When(risk_level="medium", then=Value(1)), default=Value(2),
                 output_field=IntegerField())


class _DatePlusDays(Func):
    """date + integer days (PostgreSQL's date arithmetic), a date."""

    arg_joiner = " + "
    template = "(%(expressions)s)"
    output_field = DateField()


def _last_contact():
    """The day of the customer's (outer query's pk) last contact: a logged contact or a price claim reported
    by anyone, whichever is later (a claim is a conversation with the customer)."""
    contact = (Contact.objects.filter(customer=OuterRef("pk")).order_by().values("customer")
               .annotate(last=Max("contacted_on")).values("last"))
    claim = (PriceClaim.objects.filter(customer=OuterRef("pk")).order_by().values("customer")
             .annotate(last=Max("reported_on")).values("last"))
    # GREATEST skips NULLs in PostgreSQL: either alone is the answer.
    return Greatest(Subquery(contact, output_field=DateField()), Subquery(claim, output_field=DateField()))


def _cadence_days():
    cadence = ContactCadence.objects.filter(value_tier=OuterRef("value_tier"), risk_level=OuterRef("risk_level"))
    return Subquery(cadence.values("days")[:1], output_field=IntegerField())


def _at_stake():
    total = (AgreementBalance.objects.filter(agreement__customer=OuterRef("pk")).order_by()
             .values("agreement__customer").annotate(total=Sum("unpaid")).values("total"))
    return Coalesce(Subquery(total, output_field=DecimalField(max_digits=16, decimal_places=2)), ZERO)


def contact_plan(*, user):
    """The active customers the user may see, each with `last_contact_on` (None: never), `cadence_days` (of its
    value tier and risk level) and `due_on` (None when never contacted: due now)."""
    return (Customer.objects.visible_to(user).active()
            .annotate(last_contact_on=_last_contact(), cadence_days=_cadence_days())
            .annotate(due_on=_DatePlusDays(F("last_contact_on"), F("cadence_days"))))


def contacts_due(*, user, as_of: date):
    """Customers whose next contact is due by as_of + OUTLOOK_CONTACT_DUE_AHEAD_DAYS (overdue ones and the
    never contacted included): highest value and risk first, then the most rebate at stake, then the longest
    overdue. Each row carries `last_contact_on`, `cadence_days`, `due_on` and `at_stake`."""
    ahead = as_of + timedelta(days=settings.OUTLOOK_CONTACT_DUE_AHEAD_DAYS)
    return (contact_plan(user=user).filter(Q(due_on__isnull=True) | Q(due_on__lte=ahead))
            .annotate(risk_rank=RISK_RANK, at_stake=_at_stake())
            .select_related("account_manager")
            .order_by("value_tier", "risk_rank", "-at_stake", F("due_on").asc(nulls_first=True), "code"))


@dataclass(frozen=True)
class TodayItem:
    """One thing to do today, with the customer, why in words, and the money at stake."""

    kind: str  # "contact" (later: watchlist kinds)
    customer_code: str
    customer_name: str
    url: str
    value_tier: str
    risk_level: str
    why: str
    at_stake: Decimal
    due_on: date | None
    overdue_days: int | None


def _customer_url(code: str) -> str:
    return reverse("customer-detail", args=["-"]).replace("/-/", f"/{quote(code, safe='')}/")


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


def today_items(*, user, as_of: date, limit: int = 10, extra=()) -> tuple[list[TodayItem], int]:
    """What to do today for the dashboard: the contacts due (as `contacts_due`), and any `extra` items (from
    other reads, such as a watchlist), highest value and risk first, then money at stake; the first `limit`
    and how many there are in all. Two queries."""
    due = contacts_due(user=user, as_of=as_of)
    total = due.count() + len(extra)
    rows = due.values("code", "name", "value_tier", "risk_level", "at_stake", "due_on", "last_contact_on")[:limit]
    items = []
    for row in rows:
        why, overdue = due_words(row["due_on"], row["last_contact_on"], as_of)
        items.append(TodayItem("contact", row["code"], row["name"], _customer_url(row["code"]), row["value_tier"],
                               row["risk_level"], why, row["at_stake"], row["due_on"], overdue))
    items.extend(extra)
    items.sort(key=lambda item: (item.value_tier, LEVELS.index(item.risk_level), -item.at_stake))
    return items[:limit], total


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
    for code, name, tier, level, points in ranked:
        tops.setdefault((tier, level), []).append(GridCustomer(code, name, _customer_url(code), tier, level, points))
    return [GridCell(tier, level, counts.get((tier, level), 0), tuple(tops.get((tier, level), ())))
            for tier in TIERS for level in LEVELS]


def value_risk_rows(*, user):
    """Every active customer the user may see with its value tier, risk and rebate at stake, for the .xlsx:
    highest value and risk first."""
    return (Customer.objects.visible_to(user).active().select_related("account_manager")
            .annotate(risk_rank=RISK_RANK, at_stake=_at_stake())
            .order_by("value_tier", "risk_rank", "-risk_points", "code"))


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
    """The customer's logged contacts and its price claims (each a conversation), newest first."""
    contacts = (Contact.objects.visible_to(user).filter(customer=customer).select_related("manager")
                .order_by("-contacted_on", "-pk")[:limit])
    claims = (PriceClaim.objects.visible_to(user).filter(customer=customer).select_related("reported_by", "product")
              .order_by("-reported_on", "-pk")[:limit])
    rows = [ContactRow(c.contacted_on, c.kind, c.get_kind_display(), c.manager.get_username(), c.note, None)
            for c in contacts]
    rows += [ContactRow(c.reported_on, "price_claim", f"Price claim ({c.get_channel_display().lower()})",
                        c.reported_by.get_username() if c.reported_by else "",
                        f"Claimed ${c.claimed_price:.2f} for {c.product.sku}", c.pk) for c in claims]
    rows.sort(key=lambda row: row.contacted_on, reverse=True)
    return rows[:limit]


def customer_next_contact(*, user, customer) -> dict:
    """The customer's last contact, cadence and next contact date (None: never contacted, due now)."""
    row = contact_plan(user=user).filter(pk=customer.pk).values("last_contact_on", "cadence_days", "due_on").first()
    return row or {"last_contact_on": None, "cadence_days": None, "due_on": None}
