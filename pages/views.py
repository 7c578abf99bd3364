"""Pages that show rebates and market signals together: the dashboard per role, the customer page, and the
agreement page with its monthly sheet (each month's competitor claims beside it) and that sheet in Excel.

Views parse, call selectors or one service, and render; every read starts from `visible_to(user)`.
"""

from decimal import Decimal
from typing import NamedTuple
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from config import clock
from config.charts import NARROW_WIDTH
from config.http import wrong_method
from customers.filtersets import CustomerFilterSet
from customers.models import Customer
from customers.roles import user_roles
from outlook import selectors as outlook_selectors
from outlook.forms import ContactForm
from pages.charts import purchases_chart, rebate_chart
from pages.sheets import agreement_sheet_export, claims_by_month
from pages.watchlist import dashboard_watchlist
from pages.watchlist import watchlist as watchlist_items
from pricing_signals import selectors
from pricing_signals.views import signals_at_stake
from rebates import forecasts as forecast_reads
from rebates import groups as group_reads
from rebates import history as history_reads
from rebates import selectors as rebate_selectors
from rebates import services as rebate_services
from rebates.engine.periods import month_of
from rebates.exports import ExportError
from rebates.forms import AgreementTerminateForm
from rebates.lists import ListColumn, ListSpec, list_answer, values_export_response
from rebates.models import RebateAgreement, Settlement
from rebates.services import SettlementConflict, SettlementError
from rebates.templatetags.figures import money
from rebates.wording import outlook_in_words, terms_in_words

DECIDE = "pricing_signals.decide_marketsignal"
CUSTOMERS_PER_PAGE = 50
PRICING_DASHBOARD_SIGNALS = 5
SIGNALS_SHOWN = 3  # per customer on the dashboard; the rest are counted
TODAY_SHOWN = 10  # things to do today on the dashboard; the rest are a link away

# --- dashboard ------------------------------------------------------------------------------------------


# A row's columns, and what "What to do today" reads of every customer (outlook.selectors.PLAN_FIELDS).
CUSTOMER_ROW_FIELDS = ("pk", "code", "name", "segment__name", "account_manager__first_name",
                       "account_manager__last_name", "account_manager__username", "status", "value_tier",
                       "risk_level", "risk_points", "currency")


@login_required
def dashboard(request):
    """Per role: an account manager's customers with what they have at stake; a pricing manager's open
    signals with their exposure; finance's last runs, liability and settlements waiting."""
    user = request.user
    context = {"roles": user_roles(user)}
    sees_all = user.has_perm("customers.view_all_customers")
    # Only what a row shows, as plain values: an account manager's hundreds of rows build no model objects.
    customers = rebate_selectors.dashboard_customer_list(user=user).values(*CUSTOMER_ROW_FIELDS)
    query = request.GET.get("q", "").strip()
    listed = customers.filter(Q(name__icontains=query) | Q(code__icontains=query)) if query else customers
    # Every role pages its customer table (an account manager holds up to a few thousand customers: the table
    # is for finding one, /customers/ for working through them). An account manager's rows are few columns
    # of text, read at once and paged here without a count query.
    # An account manager's customers are read once: the table's rows (unless a search narrows them) and what
    # "What to do today" needs of each (its contact plan, its standing watches' customers).
    everyone = None if sees_all else list(customers)
    rows_of = listed if sees_all else list(listed) if query else everyone
    page = Paginator(rows_of, CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
    context.update(customers=list(page.object_list), page=page, query=query)
    shown = [customer["pk"] for customer in context["customers"]]
    # An account manager's money at stake and day's work cover all of their customers, not the page's.
    figures = rebate_selectors.dashboard_figures(user=user, customer_ids=shown if sees_all else None)
    shortfall = rebate_selectors.customers_shortfall_months(user=user, customer_ids=shown)
    signals = selectors.open_signal_list(user=user)
    touching = outlook_selectors.page_open_signals(visible_customer_ids=shown, signals=signals, as_of=clock.today())
    context["rows"] = customer_rows(context["customers"], figures, shortfall, touching)
    context["has_rows"] = bool(context["customers"])
    if not sees_all:
        at_stake = {pk: found.unpaid_balance for pk, found in figures.items()}
        # Per currency of the customers, never one sum across currencies.
        currency_of = {customer["pk"]: customer["currency"] for customer in everyone}
        context["at_stake"] = {}
        for pk, unpaid in at_stake.items():
            code = currency_of.get(pk, settings.DEFAULT_CURRENCY)
            context["at_stake"][code] = context["at_stake"].get(code, Decimal("0.00")) + unpaid
        # The account manager's dashboard leads with the day's work on their own customers (others read
        # /contacts/due/).
        if user.has_perm("customers.view_contact"):
            context["today"] = today_section(user, at_stake, customers=everyone)
    if user.has_perm(DECIDE):
        shown_signals = list(selectors.open_signals(user=user).select_related(None).select_related("product")
                             [:PRICING_DASHBOARD_SIGNALS])
        # In a book of several currencies the one aggregate also gives the rebate at stake per currency.
        currencies = rebate_selectors.book_currencies()
        exposure = selectors.signals_exposure_totals(user=user, signals=shown_signals,
                                                     by_currency=len(currencies) > 1)
        context["open_signals"] = signals_at_stake(user=user, signals=shown_signals, totals=exposure,
                                                   currencies=currencies)
        context["open_signal_count"] = len(signals)
    if user.has_perm("rebates.start_accrual_run") or user.has_perm("rebates.approve_settlement"):
        context["finance"] = rebate_selectors.finance_overview(user=user)
    return render(request, "pages/dashboard.html", context)


def today_section(user, at_stake: dict[int, Decimal], customers: list[dict] | None = None) -> dict:
    """The account manager's day, the most money at stake first: the contacts due and the watchlist (a tier
    within reach, a minimum or commitment at risk, falling volume, a claim below net-net, an open signal).
    `at_stake`: each customer's unpaid rebate, read once by the dashboard; `customers`: every customer the
    user may see as dicts of CUSTOMER_ROW_FIELDS, when the dashboard has read them; the watches the nightly
    outlook found are stored rows (pages.watchlist.dashboard_watchlist). `rows`: each item with its customer's
    currency, for the page."""
    cells = None if customers is None else {
        customer["pk"]: (customer["code"], customer["name"], customer["value_tier"], customer["risk_level"])
        for customer in customers}
    currencies = None if customers is None else {customer["pk"]: customer["currency"] for customer in customers}
    items, count = outlook_selectors.today_items(
        user=user, as_of=clock.today(), limit=TODAY_SHOWN, at_stake=at_stake, read=customers,
        extra=dashboard_watchlist(user=user, at_stake=at_stake, customers=cells, currencies=currencies))
    # Each item's money in its customer's currency.
    if customers is None:
        by_code = dict(Customer.objects.filter(code__in={item.customer_code for item in items})
                       .values_list("code", "currency"))
    else:
        by_code = {customer["code"]: customer["currency"] for customer in customers}
    return {"items": items, "count": count, "rows": [(item, by_code.get(item.customer_code)) for item in items]}


CUSTOMER_STATUS = dict(Customer.Status.choices)


class CustomerRow(NamedTuple):
    """One customer on the dashboard, its figures formatted as the table shows them."""

    code: str
    url: str
    name: str
    segment: str
    manager: str
    status: str
    active: int
    accrued: str
    unpaid: str
    months: int
    signals: list
    more: int


def customer_rows(customers, figures, shortfall, touching) -> list[CustomerRow]:
    """The dashboard's customer rows (from dicts of CUSTOMER_ROW_FIELDS), figures already formatted: the
    template (pages/includes/customer_rows.html) only places and escapes them. Named tuples that the template
    unpacks are the template engine's quickest form for an account manager's 2,000 rows (docs/pages.md)."""
    signal_url = reverse("signal-detail", args=[0]).replace("/0/", "/{}/")
    customer_url = reverse("customer-detail", args=["-"]).replace("/-/", "/{}/")  # one reverse for every row
    rows = []
    for customer in customers:
        found = figures.get(customer["pk"], rebate_selectors.NO_FIGURES)
        signals = touching.get(customer["pk"], ())
        # As User.get_full_name() and Segment.__str__ give them.
        full_name = f"{customer['account_manager__first_name'] or ''} {customer['account_manager__last_name'] or ''}"
        rows.append(CustomerRow(
            code=customer["code"], url=customer_url.format(quote(customer["code"], safe="")), name=customer["name"],
            segment=customer["segment__name"] or "—",
            manager=full_name.strip() or customer["account_manager__username"] or "—",
            status=CUSTOMER_STATUS.get(customer["status"], customer["status"]),
            active=found.active_agreements, accrued=money(found.accrued_to_date, customer["currency"]),
            unpaid=money(found.unpaid_balance, customer["currency"]),
            months=shortfall.get(customer["pk"], 0),
            signals=[_signal_link(signal_url, mark) for mark in signals[:SIGNALS_SHOWN]],
            more=max(len(signals) - SIGNALS_SHOWN, 0),
        ))
    return rows


def _signal_link(signal_url: str, mark: selectors.CustomerSignal) -> dict:
    """A signal beside a customer: exposed to it (listed in its exposure table), or behind it by their claims."""
    signal = mark.signal
    return {"claimed": mark.claimed, "url": signal_url.format(signal.pk), "pk": signal.pk, "sku": signal.sku}


# --- customers list -------------------------------------------------------------------------------------


def _customer_page(code):
    return reverse("customer-detail", args=["-"]).replace("/-/", f"/{quote(code, safe='')}/")


CUSTOMER_LIST = ListSpec(
    currency="currency",
    name="customers", title="Customers", filterset=CustomerFilterSet, default_sort="name",
    columns=(
        ListColumn("code", "Code", lambda c: c.code, sort=("code",), link=lambda c: _customer_page(c.code)),
        ListColumn("name", "Customer", lambda c: c.name, sort=("name", "code")),
        ListColumn("segment", "Segment", lambda c: c.segment.name if c.segment else "", sort=("segment__name",)),
        ListColumn("manager", "Account manager",
                   lambda c: (c.account_manager.get_full_name() or c.account_manager.username)
                   if c.account_manager else "", sort=("account_manager__username",)),
        ListColumn("status", "Status", lambda c: c.get_status_display(), sort=("status",)),
        ListColumn("tier", "Value tier", lambda c: c.get_value_tier_display(), sort=("value_tier",)),
        ListColumn("accrued", "Accrued to date", lambda c: c.accrued, kind="money", sort=("accrued",),
                   total=Sum("accrued")),
        ListColumn("unpaid", "Unpaid", lambda c: c.unpaid, kind="money", sort=("unpaid",), total=Sum("unpaid")),
    ),
)


@login_required
def customers(request):
    """The customers the user may see (an account manager: their own): searched, filtered, sorted,
    totalled and exported."""
    answer = list_answer(request, CUSTOMER_LIST, rebate_selectors.customer_list(user=request.user))
    if isinstance(answer, HttpResponse):
        return answer
    return render(request, "pages/customers.html", {"list": answer}, status=answer.status)


# --- customer page --------------------------------------------------------------------------------------


@login_required
def customer_detail(request, code):
    customer = rebate_selectors.customer_for_page(user=request.user, code=code)
    agreements = list(rebate_selectors.customer_agreements(user=request.user, customer=customer))
    shortfall = rebate_selectors.agreements_shortfall_months(
        agreements=RebateAgreement.objects.filter(pk__in=[agreement.pk for agreement in agreements]))
    # The dashboard's row for the customer, from the same selectors.
    figures = rebate_selectors.dashboard_figures(user=request.user, customer_ids=[customer.pk]).get(
        customer.pk, rebate_selectors.NO_FIGURES)
    purchases = list(rebate_selectors.customer_purchases_by_month(user=request.user, customer=customer))
    claims = list(selectors.claims_visible(user=request.user).filter(customer=customer)
                  .order_by("-reported_on", "-pk")[:100])
    net_net = selectors.claims_net_net(claims)
    return render(request, "pages/customer_detail.html", {
        "customer": customer, "purchases": purchases, "figures": figures,
        "agreements": [(agreement, shortfall.get(agreement.pk, 0)) for agreement in agreements],
        "shortfall_months": rebate_selectors.customers_shortfall_months(
            user=request.user, customer_ids=[customer.pk]).get(customer.pk, 0),
        "purchases_chart": purchases_chart(purchases, currency=customer.currency),
        "purchases_chart_narrow": purchases_chart(purchases, width=NARROW_WIDTH, currency=customer.currency),
        "claims": [(claim, net_net.get(claim.pk)) for claim in claims],
        "credibility": selectors.customer_credibility(user=request.user, customer=customer),
        "can_claim": request.user.has_perm("pricing_signals.add_priceclaim"),
        "next_contact": outlook_selectors.customer_next_contact(user=request.user, customer=customer),
        "contacts": outlook_selectors.customer_contacts(user=request.user, customer=customer, limit=10),
        "contact_form": ContactForm(initial={"contacted_on": clock.today()})
        if request.user.has_perm("customers.add_contact") and customer.status == Customer.Status.ACTIVE else None,
        "history": history_reads.history_section(history_reads.customer_records(customer=customer),
                                                 show_all=request.GET.get("history") == "all"),
        # A buying group's members, or a member's groups and its share of their rebates (its own only).
        "members": group_reads.group_members(customer) if customer.is_group else [],
        "memberships": group_reads.customer_memberships(customer),
        "group_shares": group_reads.member_shares(customer, as_of=clock.today()),
    })


# --- the agreement page ---------------------------------------------------------------------------------


def agreement_context(request, number, *, terminate_form=None):
    """What the agreement page shows, before each month's claims are added."""
    agreement = rebate_selectors.agreement_for_page(user=request.user, number=number)
    statement = rebate_selectors.agreement_statement(user=request.user, number=number, agreement=agreement)
    months = statement.months
    can_terminate = (request.user.has_perm("rebates.terminate_agreement")
                     and agreement.status in TERMINABLE_STATUSES)
    return {
        "agreement": agreement,
        "statement": statement,
        "terms": terms_in_words(agreement),
        "chart": rebate_chart(months, currency=agreement.customer.currency),
        "chart_narrow": rebate_chart(months, width=NARROW_WIDTH, currency=agreement.customer.currency),
        "unpaid": agreement.unpaid_balance,
        "forfeited": agreement.forfeited_balance,
        "can_terminate": can_terminate,
        "terminate_form": (terminate_form or AgreementTerminateForm(initial={"terminated_on": clock.today()}))
        if can_terminate else None,
        "prices": sorted(agreement.prices.all(), key=lambda p: (p.effective_from, p.product.sku, p.pk)),
        "line_discounts": rebate_selectors.agreement_line_discounts(agreement=agreement),
        "scope": [*agreement.products.all(), *agreement.product_lines.all()],
        "settlements": Settlement.objects.visible_to(request.user).filter(agreement=agreement)
        .select_related("approved_by", "paid_by").order_by("period_start", "pk"),
        # Complete accrued months, as the dashboard counts them: the month under way is flagged "so far".
        "shortfall_months": statement.shortfall_months,
        "month_under_way": month_of(statement.as_of),
        "can_pay": request.user.has_perm("rebates.pay_settlement"),
        "can_approve": request.user.has_perm("rebates.approve_settlement"),
        "outlook": outlook_in_words(forecast_reads.agreement_outlook(agreement=agreement)),
        "history": history_reads.history_section(history_reads.agreement_records(agreement=agreement),
                                                 show_all=request.GET.get("history") == "all"),
        "runs": history_reads.agreement_runs(agreement=agreement),
        "can_see_runs": request.user.has_perm("rebates.view_accrualrun"),
    }


TERMINABLE_STATUSES = ("active", "expired")


def agreement_terminate_submit(request, number):
    """The agreement page's Terminate form: (None, redirect) when done or refused with a message, or (the
    form with its errors, None) to show again beside its fields."""
    # 404 first, whatever the method.
    agreement = rebate_selectors.agreement_for_page(user=request.user, number=number)
    if refused := wrong_method(request, "POST"):
        return None, refused
    if not request.user.has_perm("rebates.terminate_agreement"):
        raise PermissionDenied("You may not terminate agreements.")
    form = AgreementTerminateForm(request.POST)
    if not form.is_valid():
        return form, None
    try:
        forfeiture = rebate_services.agreement_terminate(agreement=agreement, by=request.user, **form.cleaned_data)
    except SettlementConflict as error:
        messages.error(request, str(error))
    except SettlementError as error:
        form.add_error("terminated_on", str(error))
        return form, None
    else:
        forfeited = -forfeiture.amount if forfeiture is not None else Decimal("0.00")
        messages.success(request, f"{agreement.number} terminated on {form.cleaned_data['terminated_on']:%Y-%m-%d}: "
                                  f"{money(forfeited, agreement.currency)} forfeited.")
    return None, redirect("agreement-detail", number=agreement.number)


@login_required
def agreement_detail(request, number, *, terminate_form=None):
    context = agreement_context(request, number, terminate_form=terminate_form)
    claims = claims_by_month(user=request.user, statement=context["statement"])
    context["rows"] = [(month, claims.get(month.month, ())) for month in context["statement"].months]
    return render(request, "pages/agreement_detail.html", context, status=400 if terminate_form else 200)


@login_required
def agreement_terminate(request, number):
    """The agreement page's Terminate form; a bad field is shown beside it on the page, nothing done."""
    form, answer = agreement_terminate_submit(request, number)
    return answer if answer is not None else agreement_detail(request, number, terminate_form=form)


@login_required
def agreement_sheet(request, number):
    """The agreement's monthly sheet as .xlsx (or ?format=csv), with that month's claims."""
    rebate_selectors.agreement_for_page(user=request.user, number=number)  # 404 first, whatever the method
    if refused := wrong_method(request, "GET"):
        return refused
    try:
        made = agreement_sheet_export(user=request.user, number=number, format=request.GET.get("format", "xlsx"))
    except ExportError as error:
        raise Http404(str(error)) from error
    response = HttpResponse(made.content, content_type=made.content_type)
    response["Content-Disposition"] = f'attachment; filename="{made.name}"'
    return response


# --- watchlist ------------------------------------------------------------------------------------------

WATCHLIST_HEADERS = (("Watch", "text"), ("Customer code", "text"), ("Customer", "text"), ("Agreement", "text"),
                     ("Reason", "text"), ("Money involved", "money"), ("Currency", "text"))


@login_required
def watchlist(request):
    """What deserves a call among the user's customers, the most money first (pages/watchlist.py);
    `?export=xlsx` (or csv) downloads it."""
    if refused := wrong_method(request, "GET"):
        return refused
    export = request.GET.get("export", "")
    if export and export not in ("xlsx", "csv"):
        return HttpResponse("export: export as csv or xlsx.", status=400, content_type="text/plain")
    items = watchlist_items(user=request.user)
    if export:
        return values_export_response(
            name="watchlist", title="Watchlist", headers=WATCHLIST_HEADERS, format=export,
            rows=([item.kind_label, item.customer_code, item.customer_name, item.agreement_number or "",
                   item.reason, item.money, item.currency] for item in items),
            currency_column=len(WATCHLIST_HEADERS) - 1)
    total: dict[str, Decimal] = {}  # per currency of the customers, never one sum across currencies
    for item in items:
        total[item.currency] = total.get(item.currency, Decimal("0.00")) + item.money
    return render(request, "pages/watchlist.html", {
        "items": items, "total": total,
        "run": forecast_reads.latest_forecast_run(),
    })
