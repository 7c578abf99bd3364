"""Pages that show market signals, alone or beside rebates: the dashboard per role, the customer page, the
agreement page (its monthly sheet with that month's claims, and its Excel download), logging a price
claim, the signals timeline and a signal's page with its decision.

Views parse, call one selector or service, and render; every read starts from `visible_to(user)`.
"""

from datetime import date, timedelta
from decimal import Decimal
from html import escape
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from config import clock
from config.validators import month_in_range
from customers.models import Customer
from customers.roles import user_roles
from pricing_signals import selectors
from pricing_signals.evidence import signal_evidence_file
from pricing_signals.forms import DecisionForm, PriceClaimForm
from pricing_signals.models import MarketSignal, PriceClaim
from pricing_signals.services import (
    MarketSignalConflict,
    PriceClaimInvalid,
    market_signal_acknowledge,
    market_signal_close,
    market_signal_decide,
    price_claim_check,
    price_claim_record,
)
from pricing_signals.sheets import agreement_sheet_export, claim_words, claims_by_month
from rebates import selectors as rebate_selectors
from rebates.engine.periods import add_months
from rebates.exports import ExportError
from rebates.models import RebateAgreement
from rebates.templatetags.pages import money, units
from rebates.views import agreement_context, agreement_terminate_submit, wrong_method

DECIDE = "pricing_signals.decide_marketsignal"
CUSTOMERS_PER_PAGE = 50
PRICING_DASHBOARD_SIGNALS = 5
SIGNALS_SHOWN = 3  # per customer on the dashboard; the rest are counted

# --- dashboard ------------------------------------------------------------------------------------------


CUSTOMER_ROW_FIELDS = ("pk", "code", "name", "segment__name", "account_manager__first_name",
                       "account_manager__last_name", "account_manager__username", "status")


@login_required
def dashboard(request):
    """Per role: an account manager's customers with what they have at stake; a pricing manager's open
    signals with their exposure; finance's last runs, liability and settlements waiting."""
    user = request.user
    context = {"roles": user_roles(user)}
    sees_all = user.has_perm("customers.view_all_customers")
    # Only what a row shows, as plain values: an account manager's hundreds of rows build no model objects.
    customers = rebate_selectors.dashboard_customer_list(user=user).values(*CUSTOMER_ROW_FIELDS)
    if sees_all:
        query = request.GET.get("q", "").strip()
        if query:
            customers = customers.filter(Q(name__icontains=query) | Q(code__icontains=query))
        page = Paginator(customers, CUSTOMERS_PER_PAGE).get_page(request.GET.get("page"))
        context.update(customers=list(page.object_list), page=page, query=query)
    else:
        context["customers"] = list(customers)
    shown = [customer["pk"] for customer in context["customers"]] if sees_all else None
    figures = rebate_selectors.dashboard_figures(user=user, customer_ids=shown)
    shortfall = rebate_selectors.customers_shortfall_months(user=user, customer_ids=shown)
    signals = selectors.open_signal_list(user=user)
    touching = selectors.open_signals_by_customer(user=user, customer_ids=shown, signals=signals)
    context["rows_html"] = customer_rows_html(context["customers"], figures, shortfall, touching)
    context["has_rows"] = bool(context["customers"])
    if not sees_all:
        context["at_stake"] = sum((row.unpaid_balance for row in figures.values()), Decimal("0.00"))
    if user.has_perm(DECIDE):
        shown_signals = list(selectors.open_signals(user=user).select_related(None).select_related("product")
                             [:PRICING_DASHBOARD_SIGNALS])
        exposure = selectors.signals_exposure_totals(user=user, signals=shown_signals)
        context["open_signals"] = [(signal, exposure[signal.pk]) for signal in shown_signals]
        context["open_signal_count"] = len(signals)
    if user.has_perm("rebates.start_accrual_run") or user.has_perm("rebates.approve_settlement"):
        context["finance"] = rebate_selectors.finance_overview(user=user)
    return render(request, "rebates/dashboard.html", context)


CUSTOMER_STATUS = dict(Customer.Status.choices)


def customer_rows_html(customers, figures, shortfall, touching) -> str:
    """The dashboard's customer rows (dicts of CUSTOMER_ROW_FIELDS), rendered from one template (escaped by
    Django) with the figures formatted here: an account manager's 2,000 rows render quickly this way."""
    signal_url = reverse("signal-detail", args=[0]).replace("/0/", "/{}/")
    customer_url = reverse("customer-detail", args=["-"]).replace("/-/", "/{}/")  # one reverse for every row
    rows = []
    for customer in customers:
        found = figures.get(customer["pk"], rebate_selectors.NO_FIGURES)
        signals = touching.get(customer["pk"], ())
        # As User.get_full_name() and Segment.__str__ give them.
        full_name = f"{customer['account_manager__first_name'] or ''} {customer['account_manager__last_name'] or ''}"
        rows.append({
            "code": customer["code"], "name": customer["name"],
            "url": customer_url.format(quote(customer["code"], safe="")),
            "segment": customer["segment__name"] or "—",
            "manager": full_name.strip() or customer["account_manager__username"] or "—",
            "status": CUSTOMER_STATUS.get(customer["status"], customer["status"]),
            "active": found.active_agreements, "accrued": money(found.accrued_to_date),
            "unpaid": money(found.unpaid_balance), "months": shortfall.get(customer["pk"], 0),
            "signals": [_signal_link(signal_url, mark) for mark in signals[:SIGNALS_SHOWN]],
            "more": max(len(signals) - SIGNALS_SHOWN, 0),
        })
    return render_to_string("includes/customer_rows.html", {"rows": rows})


def _signal_link(signal_url: str, mark: selectors.CustomerSignal) -> dict:
    """A signal beside a customer: exposed to it (listed in its exposure table), or behind it by their claims."""
    signal = mark.signal
    return {"claimed": mark.claimed, "url": signal_url.format(signal.pk), "pk": signal.pk, "sku": signal.sku}


# --- customer page --------------------------------------------------------------------------------------


def purchases_chart(months, *, width=720, height=180) -> str:
    """An SVG bar chart of the amount bought each month."""
    if not months:
        return ""
    left, right, top, bottom = 70, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max((row["amount"] for row in months), default=0) or 1
    slot = plot_w / len(months)
    bars = []
    for index, row in enumerate(months):
        h = float(max(row["amount"], 0) / highest) * plot_h
        x = left + slot * index + slot * 0.2
        bars.append((f"{x:.1f}", f"{top + plot_h - h:.1f}", f"{slot * 0.6:.1f}", f"{h:.1f}",
                     f"{row['month']:%b %Y}: {row['units']:,.0f} units, {money(row['amount'])}",
                     f"{left + slot * index + slot / 2:.1f}", height - 8, f"{row['month']:%b %y}"))
    return format_html(
        '<svg class="chart" role="img" viewBox="0 0 {w} {h}" width="100%"><title>Purchases by month</title>'
        '<line class="grid" x1="{l}" x2="{r}" y1="{b}" y2="{b}"/>'
        '<text class="axis" x="{lx}" y="{ty}" text-anchor="end">{top_label}</text>{bars}</svg>',
        w=width, h=height, l=left, r=width - right, b=top + plot_h, lx=left - 6, ty=top + 8,
        top_label=money(highest, 0),
        bars=format_html_join("", '<rect class="bar" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>'
                                  '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                              bars),
    )


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
    return render(request, "rebates/customer_detail.html", {
        "customer": customer, "purchases": purchases, "figures": figures,
        "agreements": [(agreement, shortfall.get(agreement.pk, 0)) for agreement in agreements],
        "shortfall_months": rebate_selectors.customers_shortfall_months(
            user=request.user, customer_ids=[customer.pk]).get(customer.pk, 0),
        "purchases_chart": purchases_chart(purchases),
        "claims": [(claim, net_net.get(claim.pk)) for claim in claims],
        "credibility": selectors.customer_credibility(user=request.user, customer=customer),
        "can_claim": request.user.has_perm("pricing_signals.add_priceclaim"),
    })


# --- agreement page -------------------------------------------------------------------------------------


@login_required
def agreement_detail(request, number, *, terminate_form=None):
    context = agreement_context(request, number, terminate_form=terminate_form)
    claims = claims_by_month(user=request.user, statement=context["statement"])
    context["rows"] = [(month, claims.get(month.month, ())) for month in context["statement"].months]
    return render(request, "rebates/agreement_detail.html", context, status=400 if terminate_form else 200)


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


# --- price claims ---------------------------------------------------------------------------------------


@login_required
def claim_new(request):
    if not request.user.has_perm("pricing_signals.add_priceclaim"):
        raise PermissionDenied("You may not record price claims.")
    initial = {"reported_on": clock.today(), "channel": PriceClaim.Channel.CALL}
    if request.GET.get("customer"):
        initial["customer"] = request.GET["customer"]
    form = PriceClaimForm(request.POST or None, request.FILES or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            claim = price_claim_record(
                user=request.user, customer=data["customer"], product=data["product"],
                competitor=data["competitor"], claimed_unit_price=data["claimed_unit_price"],
                reported_on=data["reported_on"], channel=data["channel"], note=data["note"],
                evidence=data.get("evidence"))
        except PriceClaimInvalid as invalid:
            for field, problems in invalid.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            # Checked here at once, so the page answers while the customer is on the phone; the task queued
            # on commit checks again (safe twice) and the nightly sweep catches anything missed.
            try:
                price_claim_check(claim_id=claim.pk, as_of=clock.today())
            except Exception:  # the queued check and the sweep will do it; the claim is saved
                messages.warning(request, "The claim is saved; its check is still running.")
            return redirect("claim-detail", pk=claim.pk)
    return render(request, "pricing_signals/claim_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def claim_detail(request, pk):
    claim = selectors.claim_for_user(user=request.user, pk=pk)
    others, hidden = [], 0
    if claim.signal_id:
        visible = list(selectors.signal_claims(user=request.user, signal=claim.signal))
        seen = {claim.customer_id}
        for other in visible:
            if other.customer_id not in seen:
                seen.add(other.customer_id)
                others.append(other)
        hidden = max(0, claim.signal.customer_count - len(seen))
    return render(request, "pricing_signals/claim_detail.html", {
        "claim": claim, "others": others, "hidden_customers": hidden,
        "net_net": selectors.claims_net_net([claim]).get(claim.pk),
        "credibility": selectors.customer_credibility(user=request.user, customer=claim.customer),
        "credibility_before": selectors.claims_credibility([claim])[claim.pk],
        "can_decide": request.user.has_perm(DECIDE),
    })


# --- signals --------------------------------------------------------------------------------------------

STATUS_CLASS = {"corroborated": "good", "pending": "wait", "unsubstantiated": "bad", "dismissed": "bad"}


def timeline_chart(rows, *, start: date, end: date, width=960) -> str:
    """An SVG timeline: one row per product, claims as dots by date (coloured by status), each signal's
    window as a band labelled with its number."""
    if not rows:
        return ""
    label_w, right, top, row_h, axis_h = 170, 16, 24, 34, 24
    plot_w = width - label_w - right
    height = top + row_h * len(rows) + axis_h
    days = max(1, (end - start).days)

    def x_of(day):
        return label_w + plot_w * max(0, min(days, (day - start).days)) / days

    months, month = [], start.replace(day=1)
    while month <= end:
        if month >= start:
            months.append((f"{x_of(month):.1f}", f"{month:%b %y}"))
        month = add_months(month, 1)
    axis_y = top + row_h * len(rows) + 16
    signal_url = reverse("signal-detail", args=[0]).replace("/0/", "/{}/")
    shapes = []
    for index, row in enumerate(rows):
        y = top + row_h * index
        middle = f"{y + row_h / 2:.1f}"
        shapes.append(f'<text class="axis" x="6" y="{y + row_h / 2 + 4:.1f}">{escape(row.product.sku)}</text>'
                      f'<line class="grid" x1="{label_w}" x2="{width - right}" y1="{middle}" y2="{middle}"/>')
        for signal in row.signals:
            x1, x2 = x_of(signal.window_start), x_of(signal.window_end)
            shapes.append(
                f'<a href="{signal_url.format(signal.pk)}"><rect class="window {escape(signal.status)}" x="{x1:.1f}" '
                f'y="{y + 3:.1f}" width="{max(3.0, x2 - x1):.1f}" height="{row_h - 6}"><title>Signal #{signal.pk}: '
                f'{signal.window_start} to {signal.window_end}, {signal.customer_count} customers, median '
                f'${signal.median_price}</title></rect><text class="signal-label" x="{x1 + 2:.1f}" y="{y + 12:.1f}">'
                f'#{signal.pk}</text></a>')
        for claim in row.claims:
            words = claim_words(competitor=claim.competitor_name, price=claim.claimed_price, sku=row.product.sku,
                                channel=claim.get_channel_display(), reported_on=claim.reported_on)
            shapes.append(
                f'<circle class="claim {STATUS_CLASS.get(claim.status, "")}" cx="{x_of(claim.reported_on):.1f}" '
                f'cy="{middle}" r="5"><title>{claim.reported_on} {escape(claim.customer_code)}: '
                f'{escape(words)} ({escape(claim.get_status_display())})</title></circle>')
    axis_y = top + row_h * len(rows) + 16
    labels = "".join(f'<text class="axis" x="{x}" y="{axis_y}" text-anchor="middle">{label}</text>'
                     for x, label in months)
    return mark_safe(  # every text above is escaped; numbers and URLs are ours
        f'<svg class="chart timeline" role="img" viewBox="0 0 {width} {height}" width="100%">'
        f'<title>Price claims per product, with market signal windows</title>{labels}{"".join(shapes)}</svg>')


def _day(value, default):
    """A day from the query (YYYY-MM-DD, years 2000 to 2099), or the default for anything else."""
    try:
        day = date.fromisoformat(value) if value else default
    except ValueError:
        return default
    return day if month_in_range(day) else default


@login_required
@permission_required("pricing_signals.view_marketsignal", raise_exception=True)
def signals(request):
    today = clock.today()
    end = _day(request.GET.get("to"), today)
    start = _day(request.GET.get("from"), end - timedelta(days=182))
    if start > end:
        start, end = end, start
    rows = selectors.signals_timeline(user=request.user, start=start, end=end)
    status = request.GET.get("status", "")
    listed = (selectors.signals_visible(user=request.user).select_related(None).select_related("product", "competitor")
              .filter(merged_into__isnull=True))
    if status in MarketSignal.Status.values:
        listed = listed.filter(status=status)
    page = Paginator(listed.order_by("-window_end", "-pk"), 50).get_page(request.GET.get("page"))
    return render(request, "pricing_signals/signals.html", {
        "timeline": timeline_chart(rows, start=start, end=end), "start": start, "end": end, "page": page,
        "status": status, "statuses": MarketSignal.Status.choices})


def exposure_rows_html(rows) -> str:
    """The exposure table's rows, formatted here rather than in the template language (every text escaped):
    a signal on a product line's best seller exposes hundreds of agreements."""
    agreement_url = reverse("agreement-detail", args=["-"]).replace("/-/", "/{}/")
    lines = []
    for row in rows:
        manager = row.customer.account_manager
        manager_name = (manager.get_full_name() or manager.username) if manager else "—"
        url = escape(agreement_url.format(quote(row.number, safe="")))
        lines.append(
            f'<tr><td><a href="{url}">{escape(row.number)}</a></td>'
            f'<td>{escape(row.customer.name)} ({escape(row.customer.code)})</td><td>{escape(manager_name)}</td>'
            f'<td class="num">{money(row.net_price)}</td><td class="num">{units(row.monthly_volume)}</td>'
            f'<td class="num">{money(row.unpaid_rebate)}</td></tr>')
    return mark_safe("\n".join(lines))  # every text above is escaped; numbers and URLs are ours


def _signal_page(request, signal, form=None, status=200, preview=None):
    user = request.user
    claims = list(selectors.signal_claims(user=user, signal=signal))
    net_net = selectors.claims_net_net(claims)
    credibility = selectors.claims_credibility(claims)
    exposure = list(selectors.signal_exposure(user=user, signal=signal))
    can_decide = user.has_perm(DECIDE) and signal.status != "closed" and not signal.merged_into_id
    if can_decide and form is None:
        agreements = list(selectors.covering_agreements(user=user, signal=signal))
        claimants = {claim.customer_id for claim in claims}
        form = DecisionForm(agreements=agreements, initial={
            "match_price": signal.median_price, "effective_from": add_months(signal.window_end.replace(day=1), 1),
            "agreements": [a.number for a in agreements if a.customer_id in claimants]})
    return render(request, "pricing_signals/signal_detail.html", {
        "signal": signal, "claims": [(c, net_net.get(c.pk), credibility[c.pk]) for c in claims],
        "hidden_claims": max(0, signal.claim_count - len(claims)),
        "exposure": exposure, "exposure_rows": exposure_rows_html(exposure),
        "exposure_total": selectors.exposure_total(exposure),
        "form": form if can_decide else None, "can_decide": can_decide,
        "can_move": user.has_perm(DECIDE),
        "price_matches": signal.price_matches.select_related("contract_price__agreement__customer")
        .filter(contract_price__agreement__in=RebateAgreement.objects.visible_to(user), decision__superseded_at=None),
        "decisions": list(selectors.signal_decisions(user=user, signal=signal)),
        "preview": preview,
    }, status=status)


@login_required
def signal_detail(request, pk):
    signal = selectors.signal_for_user(user=request.user, pk=pk)
    if request.method != "POST":
        return _signal_page(request, signal)
    if not request.user.has_perm(DECIDE):
        raise PermissionDenied("Only a pricing manager may decide on market signals.")
    agreements = list(selectors.covering_agreements(user=request.user, signal=signal))
    form = DecisionForm(request.POST, agreements=agreements)
    if form.is_valid():
        data = form.cleaned_data
        if data["decision"] == MarketSignal.Decision.MATCH and data["previewed"] != form.match_key():
            # A match is shown before it is recorded: the preview, and the same form to record it.
            try:
                preview = selectors.market_signal_match_preview(
                    user=request.user, signal=signal, match_price=data["match_price"],
                    effective_from=data["effective_from"], agreements=data["agreements"])
            except ValidationError as invalid:
                for field, problems in invalid.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
                return _signal_page(request, signal, form=form, status=400)
            confirm = DecisionForm({**request.POST.dict(), "agreements": data["agreements"],
                                    "previewed": form.match_key()}, agreements=agreements)
            return _signal_page(request, signal, form=confirm, preview=preview)
        try:
            market_signal_decide(user=request.user, signal=signal, decision=data["decision"], reason=data["reason"],
                                 match_price=data["match_price"], effective_from=data["effective_from"],
                                 agreements=data["agreements"])
        except ValidationError as invalid:
            for field, problems in invalid.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        except MarketSignalConflict as conflict:
            form.add_error(None, str(conflict))
        else:
            messages.success(request, f"Signal #{signal.pk}: {data['decision']} recorded.")
            return redirect("signal-detail", pk=signal.pk)
    return _signal_page(request, signal, form=form, status=400)


@login_required
def signal_move(request, pk, action):
    signal = selectors.signal_for_user(user=request.user, pk=pk)
    if refused := wrong_method(request, "POST"):
        return refused
    move = {"acknowledge": market_signal_acknowledge, "close": market_signal_close}.get(action)
    if move is None:
        raise Http404("No such action.")
    try:
        move(user=request.user, signal=signal)
    except MarketSignalConflict as conflict:
        messages.error(request, str(conflict))
    else:
        messages.success(request, f"Signal #{signal.pk} {'acknowledged' if action == 'acknowledge' else 'closed'}.")
    return redirect("signal-detail", pk=signal.pk)


@login_required
def signal_evidence(request, pk):
    signal = selectors.signal_for_user(user=request.user, pk=pk)
    if refused := wrong_method(request, "GET"):
        return refused
    file_format = request.GET.get("format", "csv")
    if file_format not in ("csv", "xlsx"):
        raise Http404("Evidence records are .csv or .xlsx.")
    name, content_type, content = signal_evidence_file(user=request.user, signal=signal, file_format=file_format)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
