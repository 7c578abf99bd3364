"""Finance's reports over REST: the GL journal of a month (or months) and the aged liability. The query
parameters are those of the pages, checked by the same forms."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from config.api.fields import MonthField
from config.api.filters import refuse_empty
from config.api.views import ApiView
from rebates import aging
from rebates import journal as journal_reads
from rebates.forms import AgedLiabilityForm, JournalForm

REPORTS = ("rebates.export_accruals",)


def _money(**kwargs):
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


def _checked(form):
    refuse_empty(form.data, form.fields)  # a parameter sent empty is refused, as on every API list
    if not form.is_valid():
        raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
    return form.cleaned_data


class JournalLineOut(serializers.Serializer):
    month = MonthField()
    account = serializers.CharField()
    role = serializers.CharField(help_text='"expense", "liability" or "credit_notes".')
    cost_centre = serializers.CharField(allow_blank=True)
    kind = serializers.CharField(help_text="The kind of ledger entries the line posts.")
    debit = _money()
    credit = _money()
    entries = serializers.IntegerField(help_text="How many ledger entries the line sums.")
    currency = serializers.CharField(help_text="The currency of the agreements it sums (debit and credit are in it).")
    reporting_debit = _money(allow_null=True, help_text="The debit in the reporting currency; null: no rate.")
    reporting_credit = _money(allow_null=True, help_text="The credit in the reporting currency; null: no rate.")


class RateUsedOut(serializers.Serializer):
    currency = serializers.CharField()
    to_currency = serializers.CharField()
    month = MonthField()
    rate = serializers.DecimalField(max_digits=20, decimal_places=10, allow_null=True,
                                    help_text="null: the month has no rate, its lines are not converted.")


class JournalOut(serializers.Serializer):
    month_from = MonthField(source="first")
    month_to = MonthField(source="last")
    debit = _money(help_text="Total debits.")
    credit = _money(help_text="Total credits: equal to the debits.")
    balanced = serializers.BooleanField()
    ledger_total = _money(help_text="The sum of the months' ledger entries.")
    liability_change = _money(help_text="Credits less debits on the liability accounts.")
    reconciles = serializers.BooleanField(help_text="The liability's change equals the ledger's total.")
    reporting_currency = serializers.CharField()
    reporting_debit = _money(allow_null=True, help_text="Total debits in the reporting currency (null: a rate is "
                                                        "missing).")
    reporting_credit = _money(allow_null=True, help_text="Total credits in the reporting currency.")
    rates = RateUsedOut(many=True, help_text="The rates used into the reporting currency, by month.")
    lines = JournalLineOut(many=True)


class JournalView(ApiView):
    required_permissions = {"get": REPORTS}
    serializer_class = JournalOut
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="GL journal",
        description="The journal finance posts for a month (or months), from the ledger entries: earned rebate "
                    "debits expense and credits the accrued liability; payouts debit the liability and credit "
                    "credit notes; forfeitures debit the liability and credit expense. Balanced and reconciled "
                    "to the ledger to the cent. Lines are per currency of the agreements, with their amounts in "
                    "the reporting currency at each month's rate (the rates used listed; a missing one is null, "
                    "never guessed). Default: the last complete month.",
        parameters=[OpenApiParameter("month_from", OpenApiTypes.STR, description="First month, YYYY-MM."),
                    OpenApiParameter("month_to", OpenApiTypes.STR, description="Last month, YYYY-MM.")],
        examples=[OpenApiExample("March", response_only=True, value={
            "month_from": "2026-03", "month_to": "2026-03", "debit": "2.50", "credit": "2.50", "balanced": True,
            "ledger_total": "2.50", "liability_change": "2.50", "reconciles": True, "reporting_currency": "USD",
            "reporting_debit": "2.50", "reporting_credit": "2.50", "rates": [], "lines": [
                {"month": "2026-03", "account": "6100", "role": "expense", "cost_centre": "", "kind": "accrual",
                 "debit": "2.50", "credit": "0.00", "entries": 1, "currency": "USD", "reporting_debit": "2.50",
                 "reporting_credit": "0.00"},
                {"month": "2026-03", "account": "2350", "role": "liability", "cost_centre": "", "kind": "accrual",
                 "debit": "0.00", "credit": "2.50", "entries": 1, "currency": "USD", "reporting_debit": "0.00",
                 "reporting_credit": "2.50"}]})])
    def get(self, request):
        wanted = _checked(JournalForm(request.query_params))
        made = journal_reads.journal(user=request.user, first=wanted["first"], last=wanted["last"])
        return Response(JournalOut(made).data)


class AgedRowOut(serializers.Serializer):
    code = serializers.CharField(help_text="Customer code, program code or the manager's username.")
    name = serializers.CharField(allow_blank=True)
    currency = serializers.CharField(help_text="The currency of the agreements the row sums (its amounts are in it).")
    days_0_90 = serializers.SerializerMethodField()
    days_91_180 = serializers.SerializerMethodField()
    days_181_365 = serializers.SerializerMethodField()
    over_365_days = serializers.SerializerMethodField()
    total = _money()
    reporting = serializers.SerializerMethodField(
        help_text="The row in the reporting currency: days_0_90, days_91_180, days_181_365, over_365_days and "
                  "total; null when the rate is missing.")

    @extend_schema_field(OpenApiTypes.DECIMAL)
    def get_days_0_90(self, row) -> str:
        return aging.cents_text(row.days_0_90_cents)

    @extend_schema_field(OpenApiTypes.DECIMAL)
    def get_days_91_180(self, row) -> str:
        return aging.cents_text(row.days_91_180_cents)

    @extend_schema_field(OpenApiTypes.DECIMAL)
    def get_days_181_365(self, row) -> str:
        return aging.cents_text(row.days_181_365_cents)

    @extend_schema_field(OpenApiTypes.DECIMAL)
    def get_over_365_days(self, row) -> str:
        return aging.cents_text(row.over_365_days_cents)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_reporting(self, row) -> dict | None:
        if row.in_reporting_currency:  # its own figures, written from their cents
            return dict(zip(_AGED_FIGURES, map(aging.cents_text, row.cents), strict=True))
        reporting = row.reporting  # converted as it is read: once
        if reporting is None:
            return None
        return {name: f"{amount:.2f}" for name, amount in zip(_AGED_FIGURES, reporting, strict=True)}


_AGED_FIGURES = ("days_0_90", "days_91_180", "days_181_365", "over_365_days", "total")


class AgedLiabilityOut(serializers.Serializer):
    by = serializers.CharField(source="group")
    as_of = serializers.DateField()
    reporting_currency = serializers.CharField()
    rate_month = MonthField(help_text="The month whose rates convert every row: the month aged on.")
    rates = RateUsedOut(many=True, help_text="The rates used into the reporting currency (null: missing).")
    reporting_total = serializers.SerializerMethodField(
        help_text="The buckets and total in the reporting currency; null when a rate is missing.")
    rows = AgedRowOut(many=True)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_reporting_total(self, report) -> dict | None:
        totals = report.reporting_totals
        if totals is None:
            return None
        return {name: f"{amount:.2f}" for name, amount in zip(_AGED_FIGURES, (*totals[0], totals[1]), strict=True)}


class AgedLiabilityView(ApiView):
    required_permissions = {"get": REPORTS}
    serializer_class = AgedLiabilityOut
    pagination_class = None
    filter_backends = []

    @extend_schema(
        summary="Aged liability",
        description="The unpaid rebate by age (days from the end of the month that earned it), per customer, "
                    "program or account manager and currency of the agreements, the largest first; payouts and "
                    "forfeitures use up the oldest months first. Each row also in the reporting currency at the "
                    "rate of the month aged on (the rates used listed; a missing one is null and its rows' "
                    "reporting figures too, never guessed).",
        parameters=[OpenApiParameter("by", OpenApiTypes.STR, enum=list(aging.GROUPS),
                                     description="Group by (default customer)."),
                    OpenApiParameter("as_of", OpenApiTypes.DATE, description="Aged on (default today).")],
        responses={200: AgedLiabilityOut},
        examples=[OpenApiExample("By customer", response_only=True, value={
            "by": "customer", "as_of": "2026-12-04", "reporting_currency": "USD", "rate_month": "2026-12",
            "rates": [{"currency": "EUR", "to_currency": "USD", "month": "2026-12", "rate": "1.1000000000"}],
            "reporting_total": {"days_0_90": "26.00", "days_91_180": "0.00", "days_181_365": "30.00",
                                "over_365_days": "0.00", "total": "56.00"},
            "rows": [{"code": "C00042", "name": "Northgate Builders", "currency": "USD", "days_0_90": "15.00",
                      "days_91_180": "0.00", "days_181_365": "30.00", "over_365_days": "0.00", "total": "45.00",
                      "reporting": {"days_0_90": "15.00", "days_91_180": "0.00", "days_181_365": "30.00",
                                    "over_365_days": "0.00", "total": "45.00"}},
                     {"code": "C00077", "name": "Rhein Bau", "currency": "EUR", "days_0_90": "10.00",
                      "days_91_180": "0.00", "days_181_365": "0.00", "over_365_days": "0.00", "total": "10.00",
                      "reporting": {"days_0_90": "11.00", "days_91_180": "0.00", "days_181_365": "0.00",
                                    "over_365_days": "0.00", "total": "11.00"}}]})])
    def get(self, request):
        wanted = _checked(AgedLiabilityForm(request.query_params))
        report = aging.aged_liability(user=request.user, as_of=wanted["as_of"], group=wanted["by"])
        return Response(AgedLiabilityOut(report).data)
