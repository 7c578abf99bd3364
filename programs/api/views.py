from decimal import Decimal

from django.conf import settings
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from config import clock
from config.api.fields import MONTH_PATTERN
from config.api.views import ApiViewSet
from programs import selectors
from programs.api.serializers import EffectivenessOut, PeriodQuery, WhatIfIn, WhatIfOut
from programs.effectiveness import FORMULAS
from programs.services import WhatIfError, whatif_start
from programs.whatif import Draft, draft_words, stored_totals

GROUP_EXAMPLE = {"customers": 2, "units_now": "300.000", "units_before": "200.000", "revenue_now": "3000.00",
                 "revenue_before": "2000.00", "units_growth": "50.0", "revenue_growth": "50.0",
                 "focus_share_now": "75.0", "focus_share_before": "66.7", "mix_shift": "8.3", "kept": 2, "lost": 0,
                 "retention": "100.0"}
EFFECTIVENESS_EXAMPLE = {
    "program": "widgets-2026", "period_from": "2026-01", "period_to": "2026-03", "year_before_from": "2025-01",
    "year_before_to": "2025-03", "segments": ["Contractors"], "focus_lines": ["Fasteners"], "currency": "USD",
    "rates": [{"currency": "EUR", "to_currency": "USD", "month": "2026-01", "rate": "1.0850000000"}],
    "missing_rates": [], "program_customers": GROUP_EXAMPLE,
    "comparison_group": {**GROUP_EXAMPLE, "units_now": "160.000", "units_growth": "-20.0", "retention": "50.0"},
    "cost": {"accrued": "150.00", "paid": "40.00", "forfeited": "10.00"}, "expected_units": "160.000",
    "incremental_units": "140.000", "expected_revenue": "1600.00", "incremental_revenue": "1400.00",
    "cost_per_incremental_unit": "1.07", "cost_per_incremental_dollar": "0.1071",
    "formulas": [{"name": "Incremental", "words": "Program customers' period - expected (units and net revenue)."}]}
WHATIF_EXAMPLE = {"id": 7, "program": "widgets-2026", "period_from": "2026-01", "period_to": "2026-03",
                  "status": "done", "progress": 100, "agreements_total": 2, "agreements_done": 2,
                  "drafts": ["$0.30 a unit"], "current": "150.00", "draft_totals": ["180.00"],
                  "totals": [{"currency": "USD", "current": "150.00", "drafts": ["180.00"]}],
                  "customers": [{"code": "C00042", "name": "Northgate Industrial Supply", "agreements": 1,
                                 "current": "90.00", "drafts": ["108.00"], "currency": "USD"}], "error": ""}
WHATIF_REQUEST = {"program": "widgets-2026", "period_from": "2026-01", "period_to": "2026-03",
                  "drafts": [{"kind": "per_unit", "rate": "0.30"},
                             {"kind": "tiered", "rate_type": "percent", "tier_basis": "quantity",
                              "tier_method": "retroactive", "bands": [{"threshold": "0", "rate": "1"},
                                                                      {"threshold": "1000", "rate": "2"}],
                              "cap": "5000.00"}]}


def _group(g):
    return {name: getattr(g, name) for name in (
        "customers", "units_now", "units_before", "revenue_now", "revenue_before", "units_growth", "revenue_growth",
        "focus_share_now", "focus_share_before", "mix_shift", "kept", "lost", "retention")}


def _job_out(job):
    result = job.result or {}
    totals = stored_totals(result)
    return WhatIfOut({
        "id": job.pk, "program": job.program.code, "period_from": job.period_from, "period_to": job.period_to,
        "status": job.status, "progress": job.progress, "agreements_total": job.agreements_total,
        "agreements_done": job.agreements_done,
        "drafts": [draft_words(Draft.from_json(data), list(totals["total_current"])) for data in job.drafts],
        "current": Decimal(result["current"]) if "current" in result else None,
        "draft_totals": [Decimal(d) for d in result.get("drafts", ())],
        "totals": [{"currency": code, "current": current,
                    "drafts": [amounts[code] for amounts in totals["total_drafts"]]}
                   for code, current in totals["total_current"].items()],
        "customers": [{**c, "current": Decimal(c["current"]), "drafts": [Decimal(d) for d in c["drafts"]],
                       "currency": c.get("currency") or settings.DEFAULT_CURRENCY}
                      for c in result.get("customers", ())],
        "error": job.error}).data


class ProgramEffectivenessViewSet(ApiViewSet):
    """A program's effectiveness over a period, over the customers the user may see."""

    lookup_field = "code"
    serializer_class = EffectivenessOut
    pagination_class = None
    filter_backends = []
    required_permissions = {"effectiveness": ("programs.view_effectiveness",)}

    @extend_schema(
        summary="A program's effectiveness", responses=EffectivenessOut,
        description="Money in the reporting currency (`currency`): each customer's months and the rebate cost of "
                    "each month and currency convert at that month's rate (`rates`) before they are added; a "
                    "missing rate is named in `missing_rates` and the figures it would convert are null. "
                    "Rebate cost (accrued, paid, forfeited) of the program's agreements for the period's months; "
                    "the program customers' volume and net revenue of the focus lines against their year before "
                    "and against the comparison group (customers of the same segments outside the program); "
                    "incremental volume and revenue, cost per incremental unit and dollar, retention and mix "
                    "shift. Each formula is in `formulas`; a figure whose denominator is zero is null. An account "
                    "manager's figures cover their own customers only.",
        parameters=[OpenApiParameter("period_from", str, description="First month, YYYY-MM.",
                                     pattern=MONTH_PATTERN),
                    OpenApiParameter("period_to", str, description="Last month, YYYY-MM (at most 12 months).",
                                     pattern=MONTH_PATTERN)],
        examples=[OpenApiExample("Effectiveness", value=EFFECTIVENESS_EXAMPLE)])
    def effectiveness(self, request, code=None):
        program = selectors.program_get(code=code)
        query = PeriodQuery(data={k: v for k, v in request.query_params.items() if k in ("period_from", "period_to")})
        query.is_valid(raise_exception=True)
        default = selectors.default_period(clock.today())
        try:
            period = selectors.period_check(query.validated_data.get("period_from", default.start),
                                            query.validated_data.get("period_to", default.end))
        except selectors.PeriodError as error:
            raise serializers.ValidationError({f"period_{error.field}": [str(error)]}) from None
        report = selectors.effectiveness_read(user=request.user, program=program, period=period)
        m = report.measures
        return Response(EffectivenessOut({
            "program": program.code, "period_from": period.start, "period_to": period.end,
            "year_before_from": period.year_before.start, "year_before_to": period.year_before.end,
            "segments": list(report.segments), "focus_lines": list(report.focus_lines),
            "currency": report.currency,
            "rates": [{"currency": r.currency, "to_currency": r.to_currency, "month": r.month, "rate": r.rate}
                      for r in report.rates],
            "missing_rates": list(report.missing_words),
            "program_customers": _group(m.program), "comparison_group": _group(m.comparison),
            "cost": {"accrued": m.cost.accrued, "paid": m.cost.paid, "forfeited": m.cost.forfeited},
            "expected_units": m.expected_units, "incremental_units": m.incremental_units,
            "expected_revenue": m.expected_revenue, "incremental_revenue": m.incremental_revenue,
            "cost_per_incremental_unit": m.cost_per_incremental_unit,
            "cost_per_incremental_dollar": m.cost_per_incremental_dollar,
            "formulas": [{"name": name, "words": words} for name, words in FORMULAS]}).data)


class WhatIfViewSet(ApiViewSet):
    """What-ifs: drafted terms for a program replayed on a past period's lines; nothing is booked."""

    serializer_class = WhatIfOut
    pagination_class = None
    filter_backends = []
    required_permissions = {"create": ("programs.run_whatif",), "retrieve": ("programs.run_whatif",)}

    def get_queryset(self):
        from programs.models import WhatIfJob

        return WhatIfJob.objects.filter(requested_by=self.request.user)

    @extend_schema(
        summary="Start a what-if", request=WhatIfIn, responses={201: WhatIfOut, 202: WhatIfOut},
        description="Up to three drafts (kind, rate, tiers, minimum, cap) replace each agreement's rule; the engine "
                    "replays the program's agreements on the period's actual purchase lines under the current terms "
                    "and each draft. A small program answers 201 with the result; a large one 202 with a job to "
                    "poll at what-ifs/{id}/. A draft the engine cannot compute is a 400 naming drafts.N.field.",
        examples=[OpenApiExample("Two drafts", request_only=True, value=WHATIF_REQUEST),
                  OpenApiExample("Replayed at once", response_only=True, status_codes=["201"], value=WHATIF_EXAMPLE),
                  OpenApiExample("Queued", response_only=True, status_codes=["202"],
                                 value={**WHATIF_EXAMPLE, "status": "queued", "progress": 0, "agreements_done": 0,
                                        "current": None, "draft_totals": [], "totals": [], "customers": []})])
    def create(self, request):
        incoming = WhatIfIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        program = selectors.program_find(code=data["program"])
        if program is None:
            raise serializers.ValidationError({"program": ["No program with this code."]})
        try:
            period = selectors.past_period_check(selectors.period_check(data["period_from"], data["period_to"]),
                                                 clock.today())
        except selectors.PeriodError as error:
            raise serializers.ValidationError({f"period_{error.field}": [str(error)]}) from None
        drafts = [Draft(kind=d["kind"], rate=d.get("rate"), rate_type=d.get("rate_type", "per_unit"),
                        bands=tuple((b["threshold"], b["rate"]) for b in d.get("bands", ())),
                        tier_basis=d.get("tier_basis", ""), tier_method=d.get("tier_method", ""),
                        baseline=d.get("baseline", ""), baseline_amount=d.get("baseline_amount"),
                        minimum=d.get("minimum"), cap=d.get("cap")) for d in data["drafts"]]
        try:
            job = whatif_start(user=request.user, program=program, period=period, drafts=drafts)
        except WhatIfError as error:
            raise serializers.ValidationError({field: [message] for field, message in error.errors.items()}) from None
        done = job.status in (job.Status.DONE, job.Status.FAILED)
        return Response(_job_out(job), status=status.HTTP_201_CREATED if done else status.HTTP_202_ACCEPTED)

    @extend_schema(summary="A what-if", responses=WhatIfOut,
                   description="Its progress while it runs, then per customer and in total what each draft would "
                               "have earned beside the current terms. Another user's what-if is a 404.",
                   examples=[OpenApiExample("Done", value=WHATIF_EXAMPLE)])
    def retrieve(self, request, pk=None):
        job = selectors.whatif_job_get(user=request.user, pk=pk)
        return Response(_job_out(job))
