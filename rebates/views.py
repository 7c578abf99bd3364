"""Pages of the rebates app: the agreement page, accrual runs, settlements, exports and imports.

Each view reads through a selector (which starts from `visible_to(user)`) or calls one service, and
renders. Pages that show market signals beside rebates (dashboard, customer page, claims, the agreement's
Excel sheet with its claims) live in pricing_signals/views.py, since rebates never imports pricing_signals.
Writes need the same permissions as the API (customers/roles.py).
"""

import functools
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Q, Sum
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from config import clock
from config.http import wrong_method
from rebates import aging, history, period_locks, selectors
from rebates import forecasts as forecast_reads
from rebates import journal as journal_reads
from rebates.exports import XLSX_CONTENT_TYPE, ExportError, ExportFile
from rebates.exports.filters import ExportFilterError, check_filter_codes, filter_choices
from rebates.exports.forecast_months import forecast_months_export
from rebates.exports.forecast_sheets import agreement_outlook_export, forecast_accuracy_export
from rebates.exports.settlement_statement import statement_pdf, statement_xlsx
from rebates.filtersets import (
    AccrualRunFilterSet,
    AgreementFilterSet,
    ExportJobFilterSet,
    ImportBatchFilterSet,
    SettlementFilterSet,
)
from rebates.forms import (
    AccrualRunForm,
    AgedLiabilityForm,
    ExportForm,
    ImportForm,
    JournalForm,
    PeriodLockForm,
    SettlementInterimForm,
    SettlementPayForm,
    SettlementsPayForm,
)
from rebates.groups import settlement_parts
from rebates.imports import ImportRefused, memberships_import_template, purchase_import_template
from rebates.lists import ListColumn, ListSpec, list_answer, values_export_response
from rebates.models import AccrualCheck, AccrualRun, ExportJob, ImportBatch, RebateAgreement, Settlement
from rebates.reporting import reporting_currency
from rebates.services import (
    AccrualRunError,
    SettlementConflict,
    SettlementError,
    accrual_run_start,
    settlement_approve,
    settlement_interim,
    settlement_pay,
    settlements_approve,
    settlements_pay,
)
from rebates.services.exports import accruals_export
from rebates.services.imports import purchase_import_commit_start, purchase_import_start
from rebates.services.period_lock import PeriodLockConflict, PeriodLockError, period_lock, period_reopen
from rebates.services.settlement import CreditNoteNumbering, SettlementsNotPayable, second_approval_threshold
from rebates.templatetags.figures import amount as unsigned
from rebates.templatetags.figures import money, money_parts
from rebates.wording import export_filters_in_words, period_in_words

ZERO_MONEY = Decimal("0.00")

# --- agreements -----------------------------------------------------------------------------------------


def _url_of(name, placeholder="-"):
    """A function from a row's key to its page, reversing the URL once for every row."""
    @functools.cache
    def pattern():  # reversed on first use: the URL configuration is still loading when views are imported
        return reverse(name, args=[placeholder]).replace(f"/{placeholder}/", "/{}/")

    return lambda key: pattern().format(quote(str(key), safe=""))


def _balance(agreement, figure):
    try:
        return getattr(agreement.ledger_balance, figure)
    except ObjectDoesNotExist:  # nothing booked yet
        return None


def _manager(customer):
    manager = customer.account_manager
    return (manager.get_full_name() or manager.username) if manager else ""


_agreement_url = _url_of("agreement-detail")
_customer_url = _url_of("customer-detail")

AGREEMENT_LIST = ListSpec(
    currency="customer__currency",
    name="agreements", title="Agreements", filterset=AgreementFilterSet, default_sort="number",
    columns=(
        ListColumn("number", "Agreement", lambda a: a.number, sort=("number",),
                   link=lambda a: _agreement_url(a.number)),
        ListColumn("customer", "Customer", lambda a: a.customer.name, sort=("customer__name", "customer__code"),
                   link=lambda a: _customer_url(a.customer.code)),
        ListColumn("code", "Customer code", lambda a: a.customer.code, sort=("customer__code",)),
        ListColumn("program", "Program", lambda a: a.program.name, sort=("program__name",)),
        ListColumn("start", "From", lambda a: a.start_month, kind="month", sort=("start_month",)),
        ListColumn("end", "To", lambda a: a.end_month, kind="month", sort=("end_month",)),
        ListColumn("status", "Status", lambda a: a.get_status_display(), sort=("status",)),
        ListColumn("manager", "Account manager", lambda a: _manager(a.customer),
                   sort=("customer__account_manager__username",)),
        ListColumn("accrued", "Accrued", lambda a: _balance(a, "accrued"), kind="money",
                   sort=("ledger_balance__accrued",), total=Sum("ledger_balance__accrued")),
        ListColumn("paid", "Paid", lambda a: _balance(a, "paid"), kind="money",
                   sort=("ledger_balance__paid",), total=Sum("ledger_balance__paid")),
        ListColumn("unpaid", "Unpaid", lambda a: _balance(a, "unpaid"), kind="money",
                   sort=("ledger_balance__unpaid",), total=Sum("ledger_balance__unpaid")),
    ),
)


@login_required
def agreements(request):
    """Every agreement the user may see: searched, filtered, sorted, totalled and exported."""
    rows = (RebateAgreement.objects.visible_to(request.user)
            .select_related("customer__account_manager", "program", "ledger_balance"))
    answer = list_answer(request, AGREEMENT_LIST, rows)
    if isinstance(answer, HttpResponse):
        return answer
    return render(request, "rebates/agreements.html", {"list": answer}, status=answer.status)


# --- accrual runs ---------------------------------------------------------------------------------------


RUN_FINISHED = (AccrualRun.Status.SUCCEEDED, AccrualRun.Status.SKIPPED, AccrualRun.Status.FAILED)
_run_url = _url_of("accrual-run-detail", "0")

RUN_LIST = ListSpec(
    name="runs", title="Accrual runs", filterset=AccrualRunFilterSet, default_sort="-created",
    columns=(
        ListColumn("run", "Run", lambda r: f"#{r.pk}", sort=("id",), link=lambda r: _run_url(r.pk)),
        ListColumn("status", "Status", lambda r: r.get_status_display(), sort=("status",)),
        ListColumn("as_of", "As of", lambda r: r.as_of, kind="date", sort=("as_of",)),
        ListColumn("full", "Full", lambda r: "Full" if r.full else "Changes only", sort=("full",)),
        ListColumn("trigger", "Started by", lambda r: r.get_trigger_display(), sort=("trigger",)),
        ListColumn("user", "User", lambda r: r.started_by.username if r.started_by else "",
                   sort=("started_by__username",)),
        ListColumn("created", "Created", lambda r: r.created_at, kind="datetime", sort=("created_at",)),
        ListColumn("agreements", "Agreements", lambda r: r.agreements_count, kind="int", sort=("agreements_count",)),
        ListColumn("entries", "Entries", lambda r: r.entries_count, kind="int", sort=("entries_count",)),
        ListColumn("booked", "Booked", lambda r: r.total_amount, kind="money", sort=("total_amount",),
                   total=Sum("total_amount")),
    ),
)


@login_required
@permission_required("rebates.view_accrualrun", raise_exception=True)
def accrual_runs(request):
    form = AccrualRunForm(request.POST or None, initial={"as_of": clock.today()})
    if request.method == "POST":
        if not request.user.has_perm("rebates.start_accrual_run"):
            raise PermissionDenied("You may not start accrual runs.")
        if form.is_valid():
            try:
                run = accrual_run_start(as_of=form.cleaned_data["as_of"], full=form.cleaned_data["full"],
                                        trigger=AccrualRun.Trigger.FINANCE, started_by=request.user)
            except AccrualRunError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Accrual run {run.pk} as of {run.as_of:%Y-%m-%d} queued.")
                return redirect("accrual-run-detail", pk=run.pk)
    runs = list_answer(request, RUN_LIST, AccrualRun.objects.select_related("started_by"))
    if isinstance(runs, HttpResponse):
        return runs
    runs = _booked_in_currencies(runs)
    return render(request, "rebates/accrual_runs.html", {
        "form": form, "list": runs, "check": AccrualCheck.objects.first(),
        "can_start": request.user.has_perm("rebates.start_accrual_run")},
        status=runs.status)


def _booked_in_currencies(runs):
    """The runs list with what each run booked in the currencies of the agreements it booked for (a run books
    for agreements in any currency): each row's parts per currency; the total only in a book held in the
    default currency alone (run totals are never added across currencies)."""
    booked_at = [column.key for column in RUN_LIST.columns].index("booked")
    booked = selectors.runs_booked(row for row, _ in runs.rows)
    rows = []
    for row, cells in runs.rows:
        cells = list(cells)
        cells[booked_at] = cells[booked_at]._replace(text=money_parts(booked.get(row.pk)))
        rows.append((row, cells))
    totals = list(runs.totals)
    if totals and selectors.book_currencies() not in ([], [settings.DEFAULT_CURRENCY]):
        totals[booked_at] = ""  # the list's total is written in the default currency: only a book in it has one
    return runs._replace(rows=rows, totals=totals)


def _run_booked_words(run, finished: bool) -> str:
    """What a run booked, per currency ("€10.00 · $20.00"): read from its entries once it has finished (or at
    once in a book of one currency); while it runs in a book of several, its running total, unsigned, and
    the currencies it is in."""
    currencies = selectors.book_currencies()
    if finished or len(currencies) <= 1:
        return money_parts(selectors.runs_booked([run]).get(run.pk))
    return f"{unsigned(run.total_amount)} so far in {' and '.join(currencies)}, per currency when the run ends"


def _moment(value) -> str:
    return f"{clock.local(value):%Y-%m-%d %H:%M:%S}" if value else ""


def accrual_run_state(run) -> dict:
    """A run's state in words, read once: its page renders it and its progress JSON sends it, so the badge,
    the bar and the details say one thing at any moment (a queued run is not half done, a running one is
    not "started —")."""
    finished = run.status in RUN_FINISHED
    if run.chunks_total:
        chunks = f"{run.chunks_done} of {run.chunks_total}"
    else:
        chunks = "none yet: the run has not started" if run.status == AccrualRun.Status.QUEUED else "none"
    return {
        "status": run.status, "status_display": run.get_status_display(), "progress": run.progress,
        "finished": finished, "chunks": chunks,
        "agreements": f"{run.agreements_count:,}", "entries_booked": f"{run.entries_count:,}",
        "amount_booked": _run_booked_words(run, finished),
        "started": _moment(run.started_at) or ("waiting for a worker" if run.status == AccrualRun.Status.QUEUED
                                               else "—"),
        "finished_at": _moment(run.finished_at) or ("not yet" if not finished else "—"),
    }


@login_required
@permission_required("rebates.view_accrualrun", raise_exception=True)
def accrual_run_detail(request, pk):
    run = get_object_or_404(AccrualRun.objects.select_related("started_by"), pk=pk)
    state = accrual_run_state(run)
    return render(request, "rebates/accrual_run_detail.html", {
        "run": run, "state": state, "progress": state["progress"], "finished": state["finished"]})


@login_required
@permission_required("rebates.view_accrualrun", raise_exception=True)
def accrual_run_progress(request, pk):
    run = get_object_or_404(AccrualRun, pk=pk)
    if refused := wrong_method(request, "GET"):
        return refused
    return JsonResponse({**accrual_run_state(run), "chunks_done": run.chunks_done, "chunks_total": run.chunks_total,
                         "entries": run.entries_count, "total": str(run.total_amount), "error": run.error})


# --- settlements ----------------------------------------------------------------------------------------


_period_text = "{:%Y-%m} – {:%Y-%m}{}".format

SETTLEMENT_LIST = ListSpec(
    currency="agreement__customer__currency",
    name="settlements", title="Settlements", filterset=SettlementFilterSet, default_sort="status",
    defaults={"status": "waiting"},
    columns=(
        ListColumn("agreement", "Agreement", lambda s: s.agreement.number, sort=("agreement__number",)),
        ListColumn("customer", "Customer", lambda s: s.agreement.customer.name,
                   sort=("agreement__customer__name", "agreement__customer__code")),
        ListColumn("period", "Period", lambda s: _period_text(s.period_start, s.period_end,
                                                              " (interim)" if s.interim else ""),
                   sort=("period_end", "period_start")),
        ListColumn("accrued", "Accrued", lambda s: s.accrued_total, kind="money", sort=("accrued_total",),
                   total=Sum("accrued_total")),
        ListColumn("adjustments", "Adjustments", lambda s: s.adjustments, kind="money", sort=("adjustments",),
                   total=Sum("adjustments")),
        ListColumn("already_paid", "Already paid", lambda s: s.already_paid, kind="money", sort=("already_paid",),
                   total=Sum("already_paid")),
        ListColumn("amount", "Amount", lambda s: s.amount, kind="money", sort=("amount",), total=Sum("amount")),
        ListColumn("status", "Status", lambda s: s.get_status_display(),
                   sort=("status", "-period_end", "agreement__number")),
        ListColumn("paid", "Paid", lambda s: f"{s.paid_on:%Y-%m-%d} · {s.payment_reference}" if s.paid_on else "",
                   sort=("paid_on",)),
    ),
)


def _can_draft_interim(user):
    return user.has_perms(("rebates.add_settlement", "rebates.approve_settlement"))


@login_required
@permission_required("rebates.view_settlement", raise_exception=True)
def settlement_interim_view(request):
    """Finance drafts an interim payment of an agreement's open settlement period, up to a month."""
    if refused := wrong_method(request, "POST"):
        return refused
    if not _can_draft_interim(request.user):
        raise PermissionDenied("You may not draft interim payments.")
    form = SettlementInterimForm(request.POST)
    if form.is_valid():
        agreement = selectors.agreement_visible(user=request.user, number=form.cleaned_data["agreement"])
        if agreement is None:
            form.add_error("agreement", f"No agreement {form.cleaned_data['agreement']} that you may see.")
        else:
            try:
                settlement = settlement_interim(agreement=agreement, through=form.cleaned_data["through"],
                                                by=request.user)
            except SettlementError as error:
                form.add_error("through", str(error))
            else:
                amount = money(settlement.amount, agreement.currency)
                messages.success(request, f"Interim payment of {agreement.number} through "
                                          f"{settlement.period_end:%Y-%m} drafted: {amount}.")
                return redirect("settlements")
    return settlements(request, interim_form=form)


@login_required
@permission_required("rebates.view_settlement", raise_exception=True)
def settlements(request, interim_form=None):
    rows = (Settlement.objects.visible_to(request.user)
            .select_related("agreement__customer", "approved_by", "paid_by"))
    answer = list_answer(request, SETTLEMENT_LIST, rows)
    if isinstance(answer, HttpResponse):
        return answer
    listed = [settlement for settlement, _ in answer.rows]
    can_approve = request.user.has_perm("rebates.approve_settlement")
    can_pay = request.user.has_perm("rebates.pay_settlement")
    drafts = payable = None
    if can_approve and not answer.errors:
        drafts = selectors.counted_by_currency(_selection(request, answer.query).approvable_by(request.user),
                                               "amount", "agreement__customer__currency")
    if can_pay and not answer.errors:
        payable = selectors.counted_by_currency(_payable(_selection(request, answer.query), request.user),
                                                "amount", "agreement__customer__currency")
    return render(request, "rebates/settlements.html", {
        "list": answer, "settlements": listed, "drafts": drafts, "payable": payable,
        "rows": settlement_rows(listed, user=request.user, can_approve=can_approve, can_pay=can_pay),
        "back": request.get_full_path(),
        "pay_form": SettlementPayForm(initial={"paid_on": clock.today()}),
        "interim_form": (interim_form or SettlementInterimForm()) if _can_draft_interim(request.user) else None,
        "can_approve": can_approve, "can_pay": can_pay}, status=400 if interim_form is not None else answer.status)


def _selection(request, query: str):
    """The settlements the user may see that the list's filters (`query`, as the list keeps it) select."""
    rows = Settlement.objects.visible_to(request.user)
    return SettlementFilterSet(QueryDict(query), queryset=rows, request=request).qs


def _payable(settlements, user):
    """The approved ones among `settlements` that `user` approved neither time (four eyes)."""
    return settlements.payable_by(user)


def _back_to_list(query):
    return redirect(f"{reverse('settlements')}?{query}" if query else reverse("settlements"))


@login_required
@permission_required("rebates.approve_settlement", raise_exception=True)
def settlements_approve_view(request):
    """Approve every settlement of the settlements list's selection (its filters, posted as `selection`) that
    the user may approve (drafts, and those awaiting a second approval that someone else gave the first) at
    once, if it still holds the `count` the page showed."""
    if refused := wrong_method(request, "POST"):
        return refused
    query = request.POST.get("selection", "")
    filterset = SettlementFilterSet(QueryDict(query), queryset=Settlement.objects.visible_to(request.user),
                                    request=request)
    if not filterset.is_valid():
        words = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in filterset.errors.items())
        return HttpResponse(words, status=400, content_type="text/plain")
    ids = list(filterset.qs.approvable_by(request.user).values_list("pk", flat=True))
    # The page said how many it would approve: approve them only if that is still what it selects.
    expected = request.POST.get("count", "")
    if not expected.isdigit():
        return HttpResponse("count: the number of settlements shown, to approve them.", status=400,
                            content_type="text/plain")
    if int(expected) != len(ids):
        messages.error(request, f"The selection now holds {len(ids)} to approve, not {expected}: nothing was "
                                "approved; look at them again.")
        return _back_to_list(query)
    done = settlements_approve(settlement_ids=ids, by=request.user)
    given = len(done.approved) + len(done.awaiting_second)
    in_all = selectors.counted_by_currency(Settlement.objects.filter(pk__in=ids), "amount",
                                           "agreement__customer__currency")["amount"]  # never one sum of currencies
    words = f"Approved {given} settlement{'s' if given != 1 else ''}, {money_parts(in_all)} in all."
    if done.awaiting_second:
        count = len(done.awaiting_second)
        words += (f" {count} of them {'pays' if count == 1 else 'pay'} more than "
                  f"{money(second_approval_threshold(), reporting_currency())} (in {reporting_currency()}): another "
                  f"person must approve {'it' if count == 1 else 'them'}"
                  f" too before {'it is' if count == 1 else 'they are'} paid.")
    messages.success(request, words)
    return _back_to_list(query)


PAY_MANY_LISTED = 500


@login_required
@permission_required("rebates.pay_settlement", raise_exception=True)
def settlements_pay_view(request):
    """Pay the approved settlements of the settlements list's selection (its filters: the query string, or
    `selection` when posted) that the user approved neither time, each with its own credit note number:
    typed one by one or numbered by a pattern. Pays only if the selection still holds the `count` shown."""
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    query = request.POST.get("selection", "") if request.method == "POST" else request.GET.urlencode()
    filterset = SettlementFilterSet(QueryDict(query), queryset=Settlement.objects.visible_to(request.user),
                                    request=request)
    if not filterset.is_valid():
        words = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in filterset.errors.items())
        return HttpResponse(words, status=400, content_type="text/plain")
    selection = filterset.qs
    payable = list(_payable(selection, request.user).select_related("agreement__customer")
                   .order_by("pk")[:PAY_MANY_LISTED + 1])
    mine = (selection.filter(status=Settlement.Status.APPROVED)
            .filter(Q(approved_by=request.user) | Q(second_approved_by=request.user)).count())
    too_many = len(payable) > PAY_MANY_LISTED
    payable = payable[:PAY_MANY_LISTED]
    form = SettlementsPayForm(request.POST if request.method == "POST" else None, settlements=payable,
                              initial={"paid_on": clock.today(), "start": 1})
    status = 200
    if request.method == "POST" and not too_many:
        expected = request.POST.get("count", "")
        if not expected.isdigit():
            return HttpResponse("count: the number of settlements shown, to pay them.", status=400,
                                content_type="text/plain")
        if int(expected) != len(payable):
            form.add_error(None, f"The selection now holds {len(payable)} settlements to pay, not {expected}: "
                                 "nothing was paid; look at them again.")
        elif form.is_valid():
            try:
                numbering = (CreditNoteNumbering(pattern=form.cleaned_data["pattern"],
                                                 start=form.cleaned_data["start"] or 0)
                             if form.cleaned_data["pattern"] else None)
                paid = settlements_pay(settlement_ids=[s.pk for s in payable], by=request.user,
                                       paid_on=form.cleaned_data["paid_on"], references=form.references(),
                                       numbering=numbering)
            except SettlementsNotPayable as error:
                for _, message in error.problems:
                    form.add_error(None, message[0].upper() + message[1:] + ".")
                status = 409
            except SettlementError as error:
                form.add_error("pattern" if form.cleaned_data["pattern"] else None, str(error))
            else:
                # Paid all or none: the settlements listed, per currency.
                total = amounts_by_currency((s.agreement.customer.currency, s.amount) for s in payable)
                messages.success(request, f"Paid {len(paid)} settlement{'s' if len(paid) != 1 else ''}, "
                                          f"{money_parts(total)} in all ({paid[0].payment_reference} to "
                                          f"{paid[-1].payment_reference}).")
                return _back_to_list(query)
        if form.errors and status == 200:
            status = 400
    return render(request, "rebates/settlements_pay.html", {
        "form": form, "payable": [(settlement, form[name]) for settlement, name in form.settlement_fields],
        "count": len(payable), "query": query, "too_many": too_many, "listed": PAY_MANY_LISTED,
        "mine": mine,
        "amount": amounts_by_currency((s.agreement.customer.currency, s.amount) for s in payable),
        "back": f"{reverse('settlements')}?{query}" if query else reverse("settlements")}, status=status)


def amounts_by_currency(pairs) -> dict[str, Decimal]:
    """(currency, amount) pairs summed per currency, never across currencies."""
    totals: dict[str, Decimal] = {}
    for currency, amount in pairs:
        totals[currency] = totals.get(currency, ZERO_MONEY) + amount
    return totals


def settlement_rows(settlements, *, user=None, can_approve, can_pay) -> list[dict]:
    """The settlements table's rows with their figures formatted and the action each offers (approve, give
    the second approval, or pay), for the template to place and escape: finance lists two hundred at a time."""
    agreement_url = reverse("agreement-detail", args=["-"]).replace("/-/", "/{}/")  # one reverse for every row
    approve_url = reverse("settlement-approve", args=[0]).replace("/0/", "/{}/")
    pay_url = reverse("settlement-pay", args=[0]).replace("/0/", "/{}/")
    detail_url = reverse("settlement-detail", args=[0]).replace("/0/", "/{}/")
    user_pk = getattr(user, "pk", None)
    rows = []
    for s in settlements:
        number = s.agreement.number
        action = None
        if s.status == Settlement.Status.DRAFT and can_approve:
            action = ("approve", approve_url.format(s.pk))
        elif s.status == Settlement.Status.APPROVING and can_approve and s.approved_by_id != user_pk:
            action = ("second", approve_url.format(s.pk))
        elif (s.status == Settlement.Status.APPROVED and can_pay
              and user_pk not in (s.approved_by_id, s.second_approved_by_id)):
            action = ("pay", pay_url.format(s.pk))
        rows.append({
            "pk": s.pk, "number": number, "detail_url": detail_url.format(s.pk),
            "url": agreement_url.format(quote(number, safe="")),
            "customer": s.agreement.customer.name,
            "period": f"{period_in_words(s.period_start, s.period_end)}{' (interim)' if s.interim else ''}",
            "accrued": money(s.accrued_total, s.agreement.customer.currency),
            "adjustments": money(s.adjustments, s.agreement.customer.currency),
            "already_paid": money(s.already_paid, s.agreement.customer.currency),
            "amount": money(s.amount, s.agreement.customer.currency),
            "status": s.status, "status_label": s.get_status_display(),
            "paid": f"{s.paid_on:%Y-%m-%d} · {s.payment_reference}" if s.paid_on else "",
            "action": action,
        })
    return rows


def _settlement_for(request, pk):
    return get_object_or_404(Settlement.objects.visible_to(request.user).select_related("agreement__customer"), pk=pk)


@login_required
def settlement_detail(request, pk):
    """One settlement: its figures, where it stands, and its history (closed, approved, paid by whom)."""
    settlement = get_object_or_404(Settlement.objects.visible_to(request.user)
                                   .select_related("agreement__customer", "approved_by", "second_approved_by",
                                                   "paid_by"), pk=pk)
    if refused := wrong_method(request, "GET"):
        return refused
    row, = settlement_rows([settlement], user=request.user,
                           can_approve=request.user.has_perm("rebates.approve_settlement"),
                           can_pay=request.user.has_perm("rebates.pay_settlement"))
    return render(request, "rebates/settlement_detail.html", {
        "settlement": settlement, "row": row, "parts": settlement_parts(settlement),
        "history": history.history_section(history.settlement_records(settlement=settlement),
                                           show_all=request.GET.get("history") == "all"),
    })


@login_required
def settlement_statement(request, pk, format="xlsx"):
    """The settlement's customer statement (.xlsx, or PDF), sent with its credit note."""
    settlement = get_object_or_404(Settlement.objects.visible_to(request.user)
                                   .select_related("agreement__customer", "agreement__program"), pk=pk)
    if refused := wrong_method(request, "GET"):
        return refused
    made = statement_pdf(settlement) if format == "pdf" else statement_xlsx(settlement)
    response = HttpResponse(made.content, content_type=made.content_type)
    response["Content-Disposition"] = f'attachment; filename="{made.name}"'
    return response


@login_required
def settlement_approve_view(request, pk):
    settlement = _settlement_for(request, pk)
    if refused := wrong_method(request, "POST"):
        return refused
    if not request.user.has_perm("rebates.approve_settlement"):
        raise PermissionDenied("You may not approve settlements.")
    try:
        settlement = settlement_approve(settlement=settlement, by=request.user)
    except SettlementError as error:
        messages.error(request, str(error))
    else:
        currency = settlement.agreement.currency
        if settlement.status == Settlement.Status.APPROVING:
            messages.success(request, f"First approval of settlement {settlement.pk} of "
                                      f"{settlement.agreement.number} given: {money(settlement.amount, currency)} is "
                                      f"more than the second approval's threshold, "
                                      f"{money(second_approval_threshold(), reporting_currency())} "
                                      f"(in {reporting_currency()}), so another person must approve it too.")
        else:
            messages.success(request, f"Settlement {settlement.pk} of {settlement.agreement.number} approved: "
                                      f"{money(settlement.amount, currency)}.")
    wanted = request.POST.get("next", "")
    # Back to the page the form was on, never to another site.
    safe = url_has_allowed_host_and_scheme(wanted, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure())
    return redirect(wanted if wanted and safe else "settlements")


@login_required
def settlement_pay_view(request, pk):
    settlement = _settlement_for(request, pk)
    if not request.user.has_perm("rebates.pay_settlement"):
        raise PermissionDenied("You may not pay settlements.")
    # A buying group's settlement split among its members pays each its part, with a credit note each.
    parts = settlement_parts(settlement) if settlement.status != Settlement.Status.PAID else []
    if request.method == "POST" and request.POST.get("change"):
        # Back from the confirmation to the form, as it was filled in.
        names = ["payment_reference", "pattern", "start", *(f"member-{part.member}" for part in parts)]
        form = SettlementPayForm(parts=parts, currency=settlement.agreement.currency, initial={
            **{name: request.POST.get(name, "") for name in names},
            "paid_on": request.POST.get("paid_on") or clock.today()})
        return render(request, "rebates/settlement_pay.html", {"settlement": settlement, "form": form,
                                                               "parts": parts})
    form = SettlementPayForm(request.POST or None, parts=parts, currency=settlement.agreement.currency,
                             initial={"paid_on": clock.today(), "start": 1})
    if request.method == "POST" and form.is_valid() and not form.cleaned_data["confirmed"]:
        # Paying cannot be undone: the filled-in payment is shown once more, to be confirmed or changed.
        return render(request, "rebates/settlement_pay.html", {"settlement": settlement, "form": form,
                                                               "confirming": True, "parts": parts})
    if request.method == "POST" and form.is_valid():
        field = "pattern" if parts else "payment_reference"
        try:
            pattern = (form.cleaned_data.get("pattern") or "").strip()
            numbering = (CreditNoteNumbering(pattern=pattern, start=form.cleaned_data.get("start") or 0)
                         if pattern else None)
            settlement_pay(settlement=settlement, by=request.user, paid_on=form.cleaned_data["paid_on"],
                           payment_reference=form.cleaned_data.get("payment_reference", ""),
                           member_references=form.member_references(), numbering=numbering)
        except SettlementConflict as error:
            form.add_error(None, str(error))
        except SettlementError as error:
            form.add_error(field if pattern or not parts else None, str(error))
        else:
            settlement.refresh_from_db(fields=["payment_reference"])
            more = f" and {len(parts) - 1} more, one per member" if len(parts) > 1 else ""
            amount = money(settlement.amount, settlement.agreement.currency)
            messages.success(request, f"Settlement {settlement.pk} of {settlement.agreement.number} paid: "
                                      f"{amount} ({settlement.payment_reference}{more}).")
            return redirect("settlements")
    return render(request, "rebates/settlement_pay.html", {"settlement": settlement, "form": form, "parts": parts},
                  status=400 if form.errors else 200)


# --- exports --------------------------------------------------------------------------------------------


def _require_export(user):
    if not user.has_perm("rebates.export_accruals"):
        raise PermissionDenied("You may not export accruals.")


_export_url = _url_of("export-detail", "0")

EXPORT_JOB_LIST = ListSpec(
    name="jobs", title="My background exports", filterset=ExportJobFilterSet, default_sort="-asked",
    columns=(
        ListColumn("export", "Export", lambda j: f"#{j.pk}", sort=("id",), link=lambda j: _export_url(j.pk)),
        ListColumn("kind", "Report", lambda j: j.get_kind_display(), sort=("kind",)),
        ListColumn("format", "Format", lambda j: j.get_format_display(), sort=("format",)),
        ListColumn("status", "Status", lambda j: j.get_status_display(), sort=("status",)),
        ListColumn("progress", "Done (%)", lambda j: j.progress, kind="int", sort=("progress",)),
        ListColumn("rows", "Rows", lambda j: j.rows_total, kind="int", sort=("rows_total",)),
        ListColumn("asked", "Asked", lambda j: j.created_at, kind="datetime", sort=("created_at",)),
    ),
)


@login_required
def exports(request):
    _require_export(request.user)
    form = ExportForm(request.POST or None, choices=filter_choices(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            made = accruals_export(user=request.user, filters=form.filters(), format=form.cleaned_data["format"],
                                   report=form.cleaned_data["report"])
        except ExportError as error:
            # A code that names nothing the user may export is said beside its field.
            form.add_error(getattr(error, "field", None), str(error))
        else:
            if isinstance(made, ExportFile):
                response = HttpResponse(made.content, content_type=made.content_type)
                response["Content-Disposition"] = f'attachment; filename="{made.name}"'
                return response
            messages.success(request, f"Export {made.pk} is being made in the background.")
            return redirect("export-detail", pk=made.pk)
    jobs = list_answer(request, EXPORT_JOB_LIST, ExportJob.objects.filter(requested_by=request.user))
    if isinstance(jobs, HttpResponse):
        return jobs
    return render(request, "rebates/exports.html", {"form": form, "list": jobs},
                  status=400 if form.errors else jobs.status)


def _job_for(request, pk):
    _require_export(request.user)
    return get_object_or_404(ExportJob, pk=pk, requested_by=request.user)


@login_required
def export_detail(request, pk):
    job = _job_for(request, pk)
    return render(request, "rebates/export_detail.html", {"job": job, "finished": job.status in ("done", "failed"),
                                                          "filters": export_filters_in_words(job.filters)})


@login_required
def export_progress(request, pk):
    job = _job_for(request, pk)
    if refused := wrong_method(request, "GET"):
        return refused
    return JsonResponse({"status": job.status, "status_display": job.get_status_display(), "progress": job.progress,
                         "finished": job.status in ("done", "failed"), "rows_done": job.rows_done,
                         "rows_total": job.rows_total, "error": job.error})


@login_required
def export_file(request, pk):
    job = _job_for(request, pk)
    if refused := wrong_method(request, "GET"):
        return refused
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404("The file is not ready.")
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1],
                        content_type=XLSX_CONTENT_TYPE if job.format == "xlsx" else "text/csv")


# --- imports --------------------------------------------------------------------------------------------


# Who imports each kind of file: finance the purchase lines; memberships whoever states them through the API
# (customers/{code}/memberships/).
IMPORT_PERMISSIONS = {ImportBatch.Kind.PURCHASES: "rebates.import_purchases",
                      ImportBatch.Kind.MEMBERSHIPS: "customers.change_customer"}


def _import_kinds(user) -> tuple[str, ...]:
    return tuple(kind for kind, permission in IMPORT_PERMISSIONS.items() if user.has_perm(permission))


def _require_import(user, kind=None):
    """The kinds of file the user may import (at least one, or 403); with `kind`, that one or 403."""
    kinds = _import_kinds(user)
    if not kinds or (kind is not None and kind not in kinds):
        raise PermissionDenied("You may not import these files.")
    return kinds


_import_url = _url_of("import-detail", "0")

IMPORT_LIST = ListSpec(
    name="batches", title="My imports", filterset=ImportBatchFilterSet, default_sort="-uploaded",
    columns=(
        ListColumn("batch", "Batch", lambda b: f"#{b.pk}", sort=("id",), link=lambda b: _import_url(b.pk)),
        ListColumn("file", "File", lambda b: b.file_name, sort=("file_name",)),
        ListColumn("kind", "Holds", lambda b: b.get_kind_display(), sort=("kind",)),
        ListColumn("status", "Status", lambda b: b.get_status_display(), sort=("status",)),
        ListColumn("progress", "Done (%)", lambda b: b.progress, kind="int", sort=("progress",)),
        ListColumn("lines", "Lines", lambda b: b.line_count, kind="int", sort=("line_count",)),
        ListColumn("created", "Created", lambda b: b.created_count, kind="int", sort=("created_count",)),
        ListColumn("updated", "Updated", lambda b: b.updated_count, kind="int", sort=("updated_count",)),
        ListColumn("uploaded", "Uploaded", lambda b: b.created_at, kind="datetime", sort=("created_at",)),
    ),
)


@login_required
def imports(request):
    kinds = _require_import(request.user)
    form = ImportForm(request.POST or None, request.FILES or None, kinds=kinds)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            batch = purchase_import_start(user=request.user, upload=upload, name=upload.name, queue_preview=True,
                                          kind=form.cleaned_data["kind"])
        except ImportRefused as error:
            form.add_error("file", str(error))
        else:
            messages.success(request, f"{batch.file_name} uploaded; it is being checked.")
            return redirect("import-detail", pk=batch.pk)
    batches = list_answer(request, IMPORT_LIST, ImportBatch.objects.filter(created_by=request.user))
    if isinstance(batches, HttpResponse):
        return batches
    return render(request, "rebates/imports.html", {"form": form, "list": batches, "kinds": kinds},
                  status=400 if form.errors else batches.status)


@login_required
def import_template(request, format):
    """The file to fill in, as .xlsx or .csv: purchase lines, or with `?kind=memberships` buying-group
    memberships."""
    kind = request.GET.get("kind") or ImportBatch.Kind.PURCHASES
    if kind not in ImportBatch.Kind.values:
        return HttpResponse("kind: purchases or memberships.", status=400, content_type="text/plain")
    _require_import(request.user, kind)
    if refused := wrong_method(request, "GET"):
        return refused
    if format not in ("xlsx", "csv"):
        raise Http404("The template comes as .xlsx or .csv.")
    made = (memberships_import_template(format) if kind == ImportBatch.Kind.MEMBERSHIPS
            else purchase_import_template(format))
    response = HttpResponse(made.content, content_type=made.content_type)
    response["Content-Disposition"] = f'attachment; filename="{made.name}"'
    return response


IMPORT_FINISHED = (ImportBatch.Status.PREVIEWED, ImportBatch.Status.STORED, ImportBatch.Status.REJECTED)


# A rejected file lists its problems on its page; past this many the page says how many more there are.
IMPORT_PROBLEMS_LISTED = 1000


def _batch_for(request, pk):
    _require_import(request.user)
    return get_object_or_404(ImportBatch, pk=pk, created_by=request.user)


@login_required
def import_detail(request, pk):
    batch = _batch_for(request, pk)
    if request.method == "POST":
        _require_import(request.user, batch.kind)
        if batch.status != ImportBatch.Status.PREVIEWED:
            messages.error(request, f"Batch {batch.pk} is {batch.get_status_display().lower()}; only a checked "
                                    "file can be stored.")
        else:
            purchase_import_commit_start(batch_id=batch.pk, user=request.user)
            what = "memberships" if batch.kind == ImportBatch.Kind.MEMBERSHIPS else "lines"
            messages.success(request, f"Storing the {what} of {batch.file_name}.")
        return redirect("import-detail", pk=batch.pk)
    # Lines held for a missing rate are counted in the lines but are neither new, changed nor unchanged.
    held = (batch.line_count - batch.created_count - batch.updated_count - batch.unchanged_count
            if batch.status in (ImportBatch.Status.PREVIEWED, ImportBatch.Status.STORED) else 0)
    return render(request, "rebates/import_detail.html", {
        "batch": batch, "finished": batch.status in IMPORT_FINISHED, "errors": batch.errors[:IMPORT_PROBLEMS_LISTED],
        "held": held, "memberships": batch.kind == ImportBatch.Kind.MEMBERSHIPS})


@login_required
def import_progress(request, pk):
    batch = _batch_for(request, pk)
    if refused := wrong_method(request, "GET"):
        return refused
    return JsonResponse({"status": batch.status, "status_display": batch.get_status_display(),
                         "progress": batch.progress, "finished": batch.status in IMPORT_FINISHED})


# --- forecasts ------------------------------------------------------------------------------------------

FORECAST_CHECKS_SHOWN = 50


def export_format(request) -> tuple[str, HttpResponse | None]:
    """The `export` query parameter: "" (the page), "xlsx" or "csv"; anything else answers 400 naming it."""
    export = request.GET.get("export", "")
    if export and export not in ("xlsx", "csv"):
        return export, HttpResponse("export: export as csv or xlsx.", status=400, content_type="text/plain")
    return export, None


@login_required
def forecasts(request):
    """The forecast liability by month of payout over the agreements the user may see, from the latest
    outlook (each settlement period's forecast payout in the month after it ends), and last month's
    forecasts of the periods that have ended since against what they earned. `?export=xlsx` (or csv): the
    months as a file."""
    if refused := wrong_method(request, "GET"):
        return refused
    export, refused = export_format(request)
    if refused:
        return refused
    run = forecast_reads.latest_forecast_run()
    months = forecast_reads.forecast_liability_by_month(user=request.user, run=run)
    totals = forecast_reads.totals_by_currency(months)
    if export:
        return forecast_months_export(months, totals, format=export)
    earlier, checks = forecast_reads.forecast_checks(user=request.user, limit=FORECAST_CHECKS_SHOWN)
    return render(request, "rebates/forecasts.html", {
        "run": run, "months": months, "total_rebate": totals["rebate"], "total_payout": totals["payout"],
        "total_earned": totals["earned_to_date"], "earlier": earlier, "checks": checks,
        "checks_error": amounts_by_currency((check.forecast.agreement.currency, check.error) for check in checks),
        "shown": FORECAST_CHECKS_SHOWN,
    })



def _sheet_query(request) -> tuple[str, dict, HttpResponse | None]:
    """A forecast download's GET: (format, filters, None), or a refusal as the last item. `export` is xlsx
    (the default) or csv; `customer` (code) and `agreement` (number) must name one the user may see: anything
    else answers 400 naming the parameter."""
    if refused := wrong_method(request, "GET"):
        return "", {}, refused
    export, refused = export_format(request)
    if refused:
        return export, {}, refused
    filters = {name: request.GET[name] for name in ("customer", "agreement") if name in request.GET}
    for name, value in filters.items():
        problem = ("leave it out rather than send it empty." if not value.strip() else
                   "not a code: at most 40 characters, none of them a control character."
                   if len(value) > 40 or any(ord(character) < 32 for character in value) else "")
        if problem:
            return export, filters, HttpResponse(f"{name}: {problem}", status=400, content_type="text/plain")
    try:
        check_filter_codes(request.user, filters, among="those you may see")
    except ExportFilterError as error:
        return export, filters, HttpResponse(f"{error.field}: {error}", status=400, content_type="text/plain")
    return export or "xlsx", filters, None


@login_required
def forecast_accuracy_sheet(request):
    """Last month's forecasts against what happened, every row the forecasts page lists the first of, as
    .xlsx (or `?export=csv`), optionally for one customer or agreement."""
    export, filters, refused = _sheet_query(request)
    if refused:
        return refused
    _, checks = forecast_reads.forecast_checks(user=request.user, limit=None, **filters)
    return forecast_accuracy_export(checks, format=export)


@login_required
def forecast_agreements_sheet(request):
    """The next tier and forecast of every agreement the user may see (the latest outlook, as the API's
    forecasts/ lists it) as .xlsx (or `?export=csv`), optionally for one customer or agreement."""
    export, filters, refused = _sheet_query(request)
    if refused:
        return refused
    rows = forecast_reads.agreement_forecasts(user=request.user, **filters)
    return agreement_outlook_export(rows.order_by("agreement__number", "pk").iterator(chunk_size=2000),
                                    format=export)


# --- finance reports: the GL journal and the aged liability ---------------------------------------------

JOURNAL_HEADERS = (("Month", "month"), ("Account", "text"), ("Account role", "text"), ("Cost centre", "text"),
                   ("Entries of", "text"), ("Debit", "money"), ("Credit", "money"), ("Ledger entries", "units"),
                   ("Currency", "text"))


def _journal_headers(made):
    """The journal's columns: the amounts in the agreements' currencies, then in the reporting currency."""
    return (*JOURNAL_HEADERS, (f"Debit in {made.reporting_currency}", "money"),
            (f"Credit in {made.reporting_currency}", "money"))


def _journal_totals(made) -> dict[int, object]:
    """The journal file's totals: debits and credits as figures in a journal of one currency (with it), else
    per currency in words, never one sum of currencies; the reporting currency's when every rate is known."""
    totals: dict[int, object] = {column: total for column, total in ((9, made.reporting_debit),
                                                                     (10, made.reporting_credit))
                                 if total is not None}
    if len(made.currencies) > 1:
        totals.update({5: money_parts(made.debit_by_currency), 6: money_parts(made.credit_by_currency)})
    else:
        totals.update({5: made.debit, 6: made.credit})
        if made.currencies:
            totals[8] = made.currencies[0]
    return totals


def _report_query(request, form_class):
    """A finance report's GET: (export format, the bound and valid form, None), or a refusal as the last item
    (a wrong method, an unknown export, a bad parameter: 400 naming each field)."""
    if refused := wrong_method(request, "GET"):
        return "", None, refused
    export, refused = export_format(request)
    if refused:
        return export, None, refused
    form = form_class(request.GET)
    if not form.is_valid():
        words = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items())
        return export, form, HttpResponse(words, status=400, content_type="text/plain")
    return export, form, None


@login_required
@permission_required("rebates.export_accruals", raise_exception=True)
def journal(request):
    """The GL journal of a month (or months) from the ledger, balanced and reconciled to it
    (rebates/journal.py); `?export=xlsx` (or csv) downloads it."""
    export, form, refused = _report_query(request, JournalForm)
    if refused:
        return refused
    first, last = form.cleaned_data["first"], form.cleaned_data["last"]
    made = journal_reads.journal(user=request.user, first=first, last=last)
    if export:
        span = f"{first:%Y-%m}" if first == last else f"{first:%Y-%m}-to-{last:%Y-%m}"
        return values_export_response(
            name=f"journal-{span}", title="GL journal", headers=_journal_headers(made), format=export, dated=False,
            rows=[*([line.month, line.account, line.role_name, line.cost_centre, line.kind_name, line.debit,
                     line.credit, line.entries, line.currency, line.reporting_debit, line.reporting_credit]
                    for line in made.lines),
                  # The rates used, below the lines (a rate's row names it in the account column).
                  *([rate.month, f"Rate used: 1 {rate.currency} = {rate.rate} {rate.to_currency}"
                     if rate.rate is not None else f"No {rate.currency} rate to {rate.to_currency}",
                     "", "", "", None, None, None, rate.currency, None, None] for rate in made.rates)],
            totals=_journal_totals(made), currency_column=8, currency_amounts=(5, 6))
    return render(request, "rebates/journal.html", {"form": form, "journal": made, "query": request.GET.urlencode()})


@login_required
@permission_required("rebates.export_accruals", raise_exception=True)
def aged_liability(request):
    """The unpaid rebate by age (0–90, 91–180, 181–365, over 365 days) per customer, program or account
    manager (rebates/aging.py); `?export=xlsx` (or csv) downloads it."""
    export, form, refused = _report_query(request, AgedLiabilityForm)
    if refused:
        return refused
    group, as_of = form.cleaned_data["by"], form.cleaned_data["as_of"]
    report = aging.aged_liability(user=request.user, as_of=as_of, group=group)
    rows, reporting = report.rows, report.reporting_currency
    reporting_totals = report.reporting_totals
    if export:
        headers = ((f"{aging.GROUPS[group]} code", "text"), (aging.GROUPS[group], "text"), ("Currency", "text"),
                   *((bucket, "money") for bucket in aging.BUCKETS), ("Unpaid in all", "money"),
                   *((f"{bucket} in {reporting}", "money") for bucket in aging.BUCKETS),
                   (f"Unpaid in {reporting}", "money"))
        per_currency = report.totals_per_currency
        totals = {}
        if len(per_currency) == 1:  # amounts in the agreements' currencies add up only when there is one
            currency, buckets, total = per_currency[0]
            totals.update(enumerate((*buckets, total), start=3))
            totals[2] = currency
        if reporting_totals is not None:
            totals.update(enumerate((*reporting_totals[0], reporting_totals[1]), start=8))
        return values_export_response(
            name=f"aged-liability-by-{group}-{as_of:%Y-%m-%d}", title="Aged liability", headers=headers,
            format=export, dated=False,
            rows=[*([row.code, row.name, row.currency, *_aged_figures(row)] for row in rows),
                  # The rates used, below the rows (a rate's row names it in the name column).
                  *(["", _rate_words(rate), rate.currency, *(None,) * 10] for rate in report.rates)],
            totals=totals, currency_column=2, currency_amounts=range(3, 8))
    # Each row with its figures and its reporting ones, made once (the template reads them by name).
    return render(request, "rebates/aged_liability.html", {
        "form": form, "report": report, "rows": [(row, *row.figures) for row in rows],
        "group_name": aging.GROUPS[group], "buckets": aging.BUCKETS,
        "per_currency": report.totals_per_currency, "reporting_totals": reporting_totals, "as_of": as_of,
        "query": request.GET.urlencode()})


def _aged_figures(row) -> list:
    """A row's four buckets and total, then the same in the reporting currency (empty without the rate)."""
    own, reporting = row.figures
    return [*own, *(reporting or (None,) * 5)]


def _rate_words(rate) -> str:
    if rate.rate is None:
        return f"No {rate.currency} rate to {rate.to_currency} for {rate.month:%Y-%m}"
    return f"Rate used: 1 {rate.currency} = {rate.rate.normalize():f} {rate.to_currency} ({rate.month:%Y-%m})"


@login_required
@permission_required("rebates.lock_period", raise_exception=True)
def months(request):
    """Finance's month close: each month with its state; lock an ended month, or reopen a locked one with a
    reason (rebates/services/period_lock.py). A POST answers with the page again (a redirect when it worked)."""
    form = PeriodLockForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            month, action = form.cleaned_data["month"], form.cleaned_data["action"]
            try:
                if action == "lock":
                    period_lock(month=month, by=request.user)
                else:
                    period_reopen(month=month, reason=form.cleaned_data["reason"], by=request.user)
            except PeriodLockConflict as error:
                messages.error(request, str(error))
                status = 409
            except PeriodLockError as error:
                form.add_error(error.field if error.field in form.fields else None, str(error))
                status = 400
            else:
                messages.success(request, f"{month:%Y-%m} {'locked' if action == 'lock' else 'reopened'}.")
                return redirect("months")
        else:
            status = 400
    return render(request, "rebates/months.html", {
        "form": form, "rows": period_locks.month_states(user=request.user),
    }, status=status)


# --- currencies: the month's exchange rates and the lines held for one ----------------------------------

@login_required
@permission_required("rebates.view_exchangerate", raise_exception=True)
def exchange_rates(request):
    """The rates on record and the lines of the reader's customers held for a missing rate, with the reason;
    finance uploads a rate file (.xlsx or .csv) here (rebates/services/currencies.py). A POST answers with
    the page again (a redirect when it worked)."""
    from rebates.forms import RatesFileForm
    from rebates.models import ExchangeRate, HeldPurchaseLine
    from rebates.services.currencies import RatesFileRefused, exchange_rates_import

    may_upload = request.user.has_perms(("rebates.add_exchangerate", "rebates.change_exchangerate"))
    if request.method == "POST" and not may_upload:
        raise PermissionDenied("Only finance sends exchange rates.")
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    form = RatesFileForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = exchange_rates_import(stream=upload, name=upload.name, by=request.user)
            except RatesFileRefused as refused_file:
                for error in refused_file.errors:
                    form.add_error("file", error["message"])
                status = 400
            else:
                messages.success(request, f"{upload.name}: {result.created} rates added, {result.updated} changed, "
                                          f"{result.unchanged} unchanged; {result.released} held lines stored, "
                                          f"{result.reconverted} lines converted again.")
                return redirect("exchange-rates")
        else:
            status = 400
    held = (HeldPurchaseLine.objects.visible_to(request.user).select_related("customer", "product")
            .order_by("month", "erp_line_id"))
    return render(request, "rebates/exchange_rates.html", {
        "form": form, "may_upload": may_upload, "held": held[:500], "held_count": held.count(),
        "rates": ExchangeRate.objects.order_by("currency", "to_currency", "-month")[:500],
    }, status=status)
