"""The market signals pages: logging a price claim, a claim's page, the signals timeline and list, and a
signal's page with its exposure, its decision and its evidence record. (Pages that show signals beside
rebates, the dashboard, customer and agreement pages, are in the pages app.)

Views parse, call one selector or service, and render; every read starts from `visible_to(user)`.
"""

import functools
import os
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from config import clock
from config.charts import NARROW_WIDTH
from config.http import wrong_method
from config.validators import month_in_range
from customers.models import Customer
from pricing_signals import selectors
from pricing_signals.charts import timeline_chart
from pricing_signals.evidence import signal_evidence_file
from pricing_signals.filtersets import MarketSignalFilterSet, PriceClaimFilterSet
from pricing_signals.forms import DecisionForm, PriceClaimForm, ProductFindForm
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
from rebates.engine.periods import add_months
from rebates.lists import ListColumn, ListSpec, list_answer
from rebates.models import RebateAgreement
from rebates.selectors import book_currencies
from rebates.templatetags.figures import money, units

DECIDE = "pricing_signals.decide_marketsignal"
EXPOSURE_LISTED = 25  # rows of a signal's exposure table (and agreements of its checklist) before "show all"
PRODUCT_SEARCH_MAX = 100

# --- price claims ---------------------------------------------------------------------------------------


def _url_of(name, placeholder="-"):
    """A function from a row's key to its page, reversing the URL once for every row."""
    @functools.cache
    def pattern():  # reversed on first use: the URL configuration is still loading when views are imported
        return reverse(name, args=[placeholder]).replace(f"/{placeholder}/", "/{}/")

    return lambda key: pattern().format(quote(str(key), safe=""))


_claim_url = _url_of("claim-detail", "0")
_customer_url = _url_of("customer-detail")
_signal_url = _url_of("signal-detail", "0")


def _person(user):
    return (user.get_full_name() or user.username) if user else ""


CLAIM_LIST = ListSpec(
    currency="customer__currency",
    name="claims", title="Price claims", filterset=PriceClaimFilterSet, default_sort="-reported",
    columns=(
        ListColumn("claim", "Claim", lambda c: f"#{c.pk}", sort=("id",), link=lambda c: _claim_url(c.pk)),
        ListColumn("reported", "Reported on", lambda c: c.reported_on, kind="date", sort=("reported_on",)),
        ListColumn("customer", "Customer", lambda c: c.customer.name, sort=("customer__name", "customer__code"),
                   link=lambda c: _customer_url(c.customer.code)),
        ListColumn("code", "Customer code", lambda c: c.customer.code, sort=("customer__code",)),
        ListColumn("product", "Product", lambda c: c.product.sku, sort=("product__sku",)),
        ListColumn("competitor", "Competitor", lambda c: c.competitor.name, sort=("competitor__name",)),
        ListColumn("price", "Claimed unit price", lambda c: c.claimed_price, kind="unit_price",
                   sort=("claimed_price",)),
        ListColumn("channel", "Channel", lambda c: c.get_channel_display(), sort=("channel",)),
        ListColumn("status", "Status", lambda c: c.get_status_display(), sort=("status",)),
        ListColumn("manager", "Account manager", lambda c: _person(c.customer.account_manager),
                   sort=("customer__account_manager__username",)),
        ListColumn("reported_by", "Reported by", lambda c: _person(c.reported_by), sort=("reported_by__username",)),
    ),
)


@login_required
def claims(request):
    """The claims of the customers the user may see: searched, filtered, sorted and exported. (Claimed unit
    prices of different products add up to nothing, so this list counts its rows and totals no money.)"""
    answer = list_answer(request, CLAIM_LIST, selectors.claims_visible(user=request.user))
    if isinstance(answer, HttpResponse):
        return answer
    return render(request, "pricing_signals/claims.html", {"list": answer}, status=answer.status)



@login_required
def claim_new(request):
    if not request.user.has_perm("pricing_signals.add_priceclaim"):
        raise PermissionDenied("You may not record price claims.")
    initial = {"reported_on": clock.today(), "channel": PriceClaim.Channel.CALL}
    if request.GET.get("customer"):
        initial["customer"] = request.GET["customer"]
    search = request.GET.get("product_search", "").strip()[:PRODUCT_SEARCH_MAX]
    form = PriceClaimForm(request.POST or None, request.FILES or None, user=request.user, initial=initial,
                          today=clock.today(), product_search=search)
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
    return render(request, "pricing_signals/claim_form.html", {
        "form": form, "customer": form.customer,
        "find": ProductFindForm(initial={"customer": form.customer.code if form.customer else "",
                                         "product_search": search},
                                customers=form.fields["customer"].queryset)}, status=400 if form.errors else 200)


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


@login_required
def claim_evidence(request, pk):
    """The claim's evidence file as a download, for whoever may see the claim (404 for anyone else, and when
    the claim has no file). Always an attachment of no particular type, so a browser never runs it."""
    claim = selectors.claim_for_user(user=request.user, pk=pk)
    if refused := wrong_method(request, "GET"):
        return refused
    if not claim.evidence:
        raise Http404("This claim has no evidence file.")
    try:
        stored = claim.evidence.open("rb")
    except FileNotFoundError as missing:
        raise Http404("The evidence file is missing from the storage.") from missing
    return FileResponse(stored, as_attachment=True, filename=os.path.basename(claim.evidence.name),
                        content_type="application/octet-stream")


# --- signals --------------------------------------------------------------------------------------------

def _day(value, default):
    """A day from the query (YYYY-MM-DD, years 2000 to 2099), or the default for anything else."""
    try:
        day = date.fromisoformat(value) if value else default
    except ValueError:
        return default
    return day if month_in_range(day) else default


SIGNAL_LIST = ListSpec(
    name="signals", title="Market signals", filterset=MarketSignalFilterSet, default_sort="-window",
    columns=(
        ListColumn("signal", "Signal", lambda m: f"#{m.pk}", sort=("id",), link=lambda m: _signal_url(m.pk)),
        ListColumn("product", "Product", lambda m: m.product.sku, sort=("product__sku",)),
        ListColumn("competitor", "Competitor", lambda m: m.competitor.name if m.competitor else "several",
                   sort=("competitor__name",)),
        ListColumn("window_start", "Window from", lambda m: m.window_start, kind="date", sort=("window_start",)),
        ListColumn("window", "Window to", lambda m: m.window_end, kind="date", sort=("window_end",)),
        ListColumn("claims", "Claims", lambda m: m.claim_count, kind="int", sort=("claim_count",)),
        ListColumn("customers", "Customers", lambda m: m.customer_count, kind="int", sort=("customer_count",)),
        ListColumn("median", "Median claimed", lambda m: m.median_price, kind="unit_price", sort=("median_price",)),
        ListColumn("ours", "Our average", lambda m: m.our_average_price, kind="unit_price",
                   sort=("our_average_price",)),
        ListColumn("drop", "Drop (%)", lambda m: m.drop_percent, kind="percent", sort=("drop_percent",)),
        ListColumn("status", "Status", lambda m: m.get_status_display(), sort=("status",)),
    ),
)


@login_required
@permission_required("pricing_signals.view_marketsignal", raise_exception=True)
def signals(request):
    today = clock.today()
    end = _day(request.GET.get("to"), today)
    start = _day(request.GET.get("from"), end - timedelta(days=182))
    if start > end:
        start, end = end, start
    rows = selectors.signals_timeline(user=request.user, start=start, end=end)
    signal_url = reverse("signal-detail", args=[0]).replace("/0/", "/{}/")  # one reverse for every window
    claim_url = reverse("claim-detail", args=[0]).replace("/0/", "/{}/")
    listed = (selectors.signals_visible(user=request.user).select_related(None).select_related("product", "competitor")
              .filter(merged_into__isnull=True))
    answer = list_answer(request, SIGNAL_LIST, listed)
    if isinstance(answer, HttpResponse):
        return answer
    return render(request, "pricing_signals/signals.html", {
        "timeline": timeline_chart(rows, start=start, end=end, signal_url=signal_url, claim_url=claim_url),
        "timeline_narrow": timeline_chart(rows, start=start, end=end, signal_url=signal_url, claim_url=claim_url,
                                          width=NARROW_WIDTH),
        "start": start, "end": end, "list": answer}, status=answer.status)


def customers_currencies(customer_ids) -> dict[int, str]:
    """Each customer's currency (what its agreements' prices and rebates are in), by customer id: one read."""
    return dict(Customer.objects.filter(pk__in=set(customer_ids)).values_list("pk", "currency"))


def exposure_rows(rows, currency_of: dict[int, str]) -> list[dict]:
    """The exposure table's rows with their figures formatted, each in its customer's currency, for the
    template to place and escape: a signal on a product line's best seller exposes hundreds of agreements."""
    agreement_url = reverse("agreement-detail", args=["-"]).replace("/-/", "/{}/")  # one reverse for every row
    return [{
        "url": agreement_url.format(quote(row.number, safe="")), "number": row.number,
        "customer": f"{row.customer_name} ({row.customer_code})", "manager": row.manager or "—",
        "net_price": money(row.net_price, currency_of.get(row.customer_id)), "volume": units(row.monthly_volume),
        "unpaid": money(row.unpaid_rebate, currency_of.get(row.customer_id)),
    } for row in rows]


def exposure_in_currencies(rows, currency_of: dict[int, str]) -> dict[str, Decimal]:
    """The unpaid rebate at stake over exposure rows, per currency of their customers (never one sum)."""
    totals: dict[str, Decimal] = {}
    for row in rows:
        code = currency_of.get(row.customer_id) or settings.DEFAULT_CURRENCY
        totals[code] = totals.get(code, Decimal("0.00")) + row.unpaid_rebate
    return totals


def signal_prices_currency(signal) -> str:
    """The currency a signal's prices (its median claimed price, our average, a matched price) are in: the
    book's when it has one, else its claimants' when they share one; "" when the claims are in several (the
    figures are then shown without a sign, and the page names the currencies)."""
    currencies = book_currencies()
    if len(currencies) <= 1:
        return currencies[0] if currencies else settings.DEFAULT_CURRENCY
    claimed = set(PriceClaim.objects.filter(signal=signal).order_by()
                  .values_list("customer__currency", flat=True).distinct())
    return claimed.pop() if len(claimed) == 1 else ""


def signals_at_stake(*, user, signals, totals, currencies: list[str] | None = None) -> list[tuple]:
    """(signal, its exposure totals, its unpaid rebate at stake per currency, the currency of its prices) for
    a dashboard's signals, `totals` being `selectors.signals_exposure_totals` of them. A book in one currency
    reads nothing more; a book in several reads the signals' claimants' currencies (one read) and, unless
    `totals` were read `by_currency`, the totals per currency (one aggregate), whatever the number of signals.
    `currencies`: the book's currencies when the caller read them already."""
    signals = list(signals)
    currencies = book_currencies() if currencies is None else currencies
    if len(currencies) <= 1:
        code = currencies[0] if currencies else settings.DEFAULT_CURRENCY
        return [(signal, totals[signal.pk], {code: totals[signal.pk]["unpaid_rebate"]}, code) for signal in signals]
    per_currency = (totals if all("unpaid_by_currency" in totals[signal.pk] for signal in signals)
                    else selectors.signals_exposure_totals(user=user, signals=signals, by_currency=True))
    claimed: dict[int, set[str]] = {}
    for signal_id, code in (PriceClaim.objects.filter(signal__in=signals).order_by()
                            .values_list("signal_id", "customer__currency").distinct()):
        claimed.setdefault(signal_id, set()).add(code)
    return [(signal, totals[signal.pk], per_currency[signal.pk]["unpaid_by_currency"],
             next(iter(claimed[signal.pk])) if len(claimed.get(signal.pk, ())) == 1 else "")
            for signal in signals]


def signal_claim_currencies(signal) -> list[str]:
    """The currencies of a signal's claims, in order."""
    return sorted(set(PriceClaim.objects.filter(signal=signal).order_by()
                      .values_list("customer__currency", flat=True).distinct()))


def _signal_page(request, signal, form=None, status=200, preview=None):
    user = request.user
    claims = list(selectors.signal_claims(user=user, signal=signal))
    net_net = selectors.claims_net_net(claims)
    credibility = selectors.claims_credibility(claims)
    exposure = selectors.signal_exposure_rows(user=user, signal=signal)
    # A best seller's signal exposes hundreds of agreements: the page lists the largest rebates at stake
    # first and the rest on asking (`?show=all`); the tiles count and total them all.
    show_all = request.GET.get("show") == "all"
    listed = exposure if show_all else exposure[:EXPOSURE_LISTED]
    currency_of = customers_currencies(row.customer_id for row in exposure)
    prices_in = signal_prices_currency(signal)
    can_decide = user.has_perm(DECIDE) and signal.status != "closed" and not signal.merged_into_id
    choices = None
    if can_decide:
        if form is None:
            agreements = list(selectors.covering_agreements(user=user, signal=signal))
            claimants = {claim.customer_id for claim in claims}
            form = DecisionForm(agreements=agreements, initial={
                "match_price": signal.median_price,
                "effective_from": add_months(signal.window_end.replace(day=1), 1),
                "agreements": [a.number for a in agreements if a.customer_id in claimants]})
        # The checklist lists the agreements checked (the claimants', at first) and the exposed ones the
        # table lists; every covering agreement on asking.
        field = form.fields["agreements"]
        numbers = [str(number) for number, _ in field.choices]
        field.widget.shown = None if show_all else {row.number for row in listed}
        checked = set(map(str, form["agreements"].value() or ()))
        choices = {"all": len(numbers), "listed": len(numbers) if show_all else sum(
            1 for number in numbers if number in field.widget.shown or number in checked)}
    return render(request, "pricing_signals/signal_detail.html", {
        "signal": signal, "claims": [(c, net_net.get(c.pk), credibility[c.pk]) for c in claims],
        "hidden_claims": max(0, signal.claim_count - len(claims)),
        "exposure": exposure, "exposure_rows": exposure_rows(listed, currency_of),
        "exposure_total": selectors.exposure_total(exposure),
        "exposure_at_stake": exposure_in_currencies(exposure, currency_of),
        "prices_in": prices_in, "claims_in": [] if prices_in else signal_claim_currencies(signal),
        "preview_effect": preview_effect(preview),
        "choices": choices,
        "form": form if can_decide else None, "can_decide": can_decide,
        "can_move": user.has_perm(DECIDE),
        "price_matches": signal.price_matches.select_related("contract_price__agreement__customer")
        .filter(contract_price__agreement__in=RebateAgreement.objects.visible_to(user), decision__superseded_at=None),
        # The history is shown beside the decision in force only: an undecided signal reads none.
        "decisions": list(selectors.signal_decisions(user=user, signal=signal)) if signal.decision else [],
        "preview": preview,
    }, status=status)


def preview_effect(preview) -> dict[str, Decimal]:
    """A match preview's effect a month over all its agreements, per currency of their customers."""
    totals: dict[str, Decimal] = {}
    for row in getattr(preview, "rows", None) or ():
        if row.monthly_effect is not None:
            code = row.agreement.customer.currency
            totals[code] = totals.get(code, Decimal("0.00")) + row.monthly_effect
    return totals


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
    move = {"acknowledge": market_signal_acknowledge, "close": market_signal_close}.get(action)
    if move is None:
        raise Http404("No such action.")
    if action == "close" and request.method in ("GET", "HEAD", "POST") and not request.POST.get("confirmed"):
        # Closing ends the signal's decisions: the page asks first, and only a confirmed form closes it.
        if not request.user.has_perm(DECIDE):
            raise PermissionDenied("Only a pricing manager may close market signals.")
        return render(request, "pricing_signals/signal_close.html",
                      {"signal": signal, "prices_in": signal_prices_currency(signal)})
    if refused := wrong_method(request, "POST"):
        return refused
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
