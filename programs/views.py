"""The programs' pages: each program's effectiveness over a period (with its sheet), and the what-if.

Views parse, call selectors or one service, and render; every customer row starts from `visible_to(user)`.
"""


from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render

from config import clock
from config.http import wrong_method
from programs import selectors
from programs.charts import effectiveness_chart
from programs.effectiveness import FORMULAS
from programs.forms import PeriodForm, TemplateChangeForm, draft_forms
from programs.services import WhatIfError, whatif_start
from programs.sheets import effectiveness_rows, whatif_rows
from programs.whatif import Draft, draft_words, stored_totals
from rebates.lists import values_export_response
from rebates.services.enrollment import EnrollmentConflict, program_enroll, program_template_change

VIEW = "programs.view_effectiveness"
RUN = "programs.run_whatif"
ENROLL = "rebates.enroll_program"


def _may(request, permission):
    if not request.user.has_perm(permission):
        raise PermissionDenied("Your role does not include this.")


def _period(request):
    form = PeriodForm(request.GET or None, default=selectors.default_period(clock.today()))
    if not form.is_bound:
        return form, selectors.default_period(clock.today())
    return form, (form.cleaned_data["period"] if form.is_valid() else None)


def _xlsx(name, *, title, headers, rows, currency_column=None):
    return values_export_response(name=name, title=title, headers=headers, rows=rows, format="xlsx",
                                  currency_column=currency_column)


@login_required
def program_list(request):
    """Every program with the agreements the user may see, each a link to its effectiveness."""
    if refused := wrong_method(request, "GET"):
        return refused
    _may(request, VIEW)
    return render(request, "programs/program_list.html", {
        "programs": selectors.programs_visible(user=request.user), "may_run": request.user.has_perm(RUN)})


@login_required
def program_effectiveness(request, code):
    """A program's rebate cost and what it bought in a period, against the customers' own year before and
    against the comparison group, each formula in a sentence."""
    program = selectors.program_get(code=code)
    if refused := wrong_method(request, "GET"):
        return refused
    _may(request, VIEW)
    form, period = _period(request)
    context = {"program": program, "form": form, "formulas": FORMULAS, "may_run": request.user.has_perm(RUN)}
    if period is None:
        return render(request, "programs/effectiveness.html", context, status=400)
    report = selectors.effectiveness_read(user=request.user, program=program, period=period)
    context.update(report=report, m=report.measures, chart=effectiveness_chart(report.measures),
                   query=request.GET.urlencode())
    return render(request, "programs/effectiveness.html", context)


EFFECTIVENESS_HEADERS = (("Measure", "text"), ("Program customers", "text"), ("Comparison group", "text"),
                         ("How it is computed", "text"))


@login_required
def program_effectiveness_sheet(request, code):
    """The effectiveness page's figures and formulas as .xlsx (the same period)."""
    program = selectors.program_get(code=code)
    if refused := wrong_method(request, "GET"):
        return refused
    _may(request, VIEW)
    form, period = _period(request)
    if period is None:
        return render(request, "programs/effectiveness.html", {"program": program, "form": form,
                                                               "formulas": FORMULAS}, status=400)
    report = selectors.effectiveness_read(user=request.user, program=program, period=period)
    return _xlsx(f"effectiveness-{program.code}-{period.start:%Y-%m}-{period.end:%Y-%m}",
                 title="Effectiveness", headers=EFFECTIVENESS_HEADERS, rows=effectiveness_rows(report))


@login_required
def whatif_new(request, code):
    """Draft up to three alternative terms for the program and replay them on a past period's lines."""
    program = selectors.program_get(code=code)
    if refused := wrong_method(request, "GET", "POST"):
        return refused
    _may(request, RUN)
    default = selectors.default_period(clock.today())
    if request.method == "GET":
        form = PeriodForm(initial={"period_from": default.start, "period_to": default.end}, default=default)
        jobs = selectors.whatif_jobs_recent(user=request.user, program=program)
        return render(request, "programs/whatif_form.html", {"program": program, "form": form,
                                                             "drafts": draft_forms(), "jobs": jobs})
    form = PeriodForm(request.POST, default=default)
    drafts = draft_forms(request.POST)
    valid = form.is_valid() & all([draft.is_valid() for draft in drafts])
    if form.is_valid():
        try:
            selectors.past_period_check(form.cleaned_data["period"], clock.today())
        except selectors.PeriodError as error:
            form.add_error("period_to", str(error))
            valid = False
    errors = []
    if valid:
        chosen = [d.draft() for d in drafts if d.draft() is not None]
        try:
            job = whatif_start(user=request.user, program=program, period=form.cleaned_data["period"], drafts=chosen)
        except WhatIfError as error:
            errors = list(error.errors.values())
        else:
            return redirect("whatif-detail", pk=job.pk)
    return render(request, "programs/whatif_form.html", {"program": program, "form": form, "drafts": drafts,
                                                         "errors": errors}, status=400)


def _job_context(job):
    drafts = [Draft.from_json(data) for data in job.drafts]
    result = job.result or {}
    rows = [{"code": c["code"], "name": c["name"], "agreements": c["agreements"], "current": c["current"],
             "drafts": c["drafts"], "currency": c.get("currency") or settings.DEFAULT_CURRENCY}
            for c in result.get("customers", ())]
    totals = stored_totals(result)
    return {"job": job, "draft_words": [draft_words(d, list(totals["total_current"])) for d in drafts], "rows": rows,
            "result": result, **totals, "finished": job.status in ("done", "failed")}


@login_required
def whatif_detail(request, pk):
    """A what-if's progress, then per customer and in total what each draft would have earned beside the
    current terms."""
    _may(request, RUN)
    job = selectors.whatif_job_get(user=request.user, pk=pk)
    if refused := wrong_method(request, "GET"):
        return refused
    return render(request, "programs/whatif_detail.html", _job_context(job))


@login_required
def whatif_progress(request, pk):
    _may(request, RUN)
    job = selectors.whatif_job_get(user=request.user, pk=pk)
    if refused := wrong_method(request, "GET"):
        return refused
    return JsonResponse({"status": job.status, "status_display": job.get_status_display(), "progress": job.progress,
                         "finished": job.status in ("done", "failed"), "agreements_done": job.agreements_done,
                         "agreements_total": job.agreements_total, "error": job.error})


@login_required
def whatif_sheet(request, pk):
    """A finished what-if's table as .xlsx: per customer, the current terms and each draft."""
    _may(request, RUN)
    job = selectors.whatif_job_get(user=request.user, pk=pk)
    if refused := wrong_method(request, "GET"):
        return refused
    if job.status != job.Status.DONE:
        return render(request, "programs/whatif_detail.html", _job_context(job), status=409)
    headers, rows = whatif_rows(job)
    return _xlsx(f"what-if-{job.pk}-{job.program.code}", title="What-if", headers=headers, rows=rows,
                 currency_column=len(headers) - 1)


def _enrollment_page(request, program, *, form=None, errors=(), status=200):
    return render(request, "programs/enrollment.html", {
        "program": program, "view": selectors.program_enrollment_read(user=request.user, program=program),
        "may_enroll": request.user.has_perm(ENROLL), "form": form or TemplateChangeForm(prefix="change"),
        "errors": errors}, status=status)


@login_required
def program_enrollment(request, code):
    """A segment-wide program: its template terms and target segments, the enrolled agreements the user may
    see (overridden ones marked), and for those who may, enroll now and a template change from a month."""
    program = selectors.program_get(code=code)
    if refused := wrong_method(request, "GET"):
        return refused
    _may(request, VIEW)
    return _enrollment_page(request, program)


@login_required
def program_enroll_now(request, code):
    """Enroll the program's target segments as of today (as the nightly enrollment does)."""
    program = selectors.program_get(code=code)
    if refused := wrong_method(request, "POST"):
        return refused
    _may(request, ENROLL)
    done = program_enroll(program=program, as_of=clock.today(), by=request.user)
    messages.success(request, f"Enrolled {len(done.enrolled)}, ended {len(done.ended)}, withdrew "
                              f"{len(done.withdrawn)} agreement{'s' if len(done.withdrawn) != 1 else ''}.")
    return redirect("program-enrollment", code=program.code)


@login_required
def program_template_change_page(request, code):
    """Change the template's rule from a month: enrolled agreements not overridden take it from then."""
    program = selectors.program_get(code=code)
    if refused := wrong_method(request, "POST"):
        return refused
    _may(request, ENROLL)
    form = TemplateChangeForm(request.POST, prefix="change")
    if not form.is_valid():
        return _enrollment_page(request, program, form=form, status=400)
    try:
        changed = program_template_change(program=program, rule=form.rule(), from_month=form.cleaned_data["from_month"],
                                          as_of=clock.today(), by=request.user)
    except ValidationError as error:
        problems = error.message_dict if hasattr(error, "error_dict") else {None: error.messages}
        for field, messages_of_field in problems.items():
            name = (field or "").removeprefix("rule.")
            form.add_error(name if name in form.fields else None, messages_of_field)
        return _enrollment_page(request, program, form=form, status=400)
    except EnrollmentConflict as error:
        return _enrollment_page(request, program, form=form, errors=[str(error)], status=409)
    messages.success(request, f"The template's rule changed from {form.cleaned_data['from_month']:%Y-%m}: "
                              f"{len(changed)} agreement{'s' if len(changed) != 1 else ''} now hold it.")
    return redirect("program-enrollment", code=program.code)
