"""The stored outlook over REST: each agreement's next tier and period-end forecast after the latest run,
the forecast liability by month of payout, and last month's forecasts against what happened (each also as
.xlsx)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.response import Response

from config.api.errors import ApiError
from config.api.fields import MonthField
from config.api.filters import QueryParams
from config.api.views import ApiView, ApiViewSet
from rebates import forecasts
from rebates.exports.cells import XLSX_CONTENT_TYPE as XLSX
from rebates.exports.filters import ExportFilterError, check_filter_codes
from rebates.exports.forecast_months import forecast_months_export
from rebates.exports.forecast_sheets import agreement_outlook_export, forecast_accuracy_export

READ = ("rebates.view_agreementforecast",)
EXPORT = ("rebates.view_agreementforecast", "rebates.export_accruals")


def _money(**kwargs):
    return serializers.DecimalField(max_digits=16, decimal_places=2, **kwargs)


def _quantity(**kwargs):
    return serializers.DecimalField(max_digits=18, decimal_places=3, **kwargs)


class ForecastOut(serializers.Serializer):
    agreement = serializers.CharField(source="agreement.number")
    customer = serializers.CharField(source="agreement.customer.code")
    as_of = serializers.DateField(help_text="The accrual run's as-of date the outlook was made on.")
    period_start = MonthField()
    period_end = MonthField(help_text="Last month of the settlement period.")
    payout_month = MonthField(help_text="The month the period is settled and paid: the month after it ends.")
    volume_quantity = _quantity(help_text="Forecast units of the whole period.")
    volume_amount = _money(help_text="Forecast net purchases of the whole period.")
    rebate = _money(help_text="What the period is forecast to earn.")
    rebate_to_date = _money(help_text="What it had earned by the as-of month.")
    payout = _money(help_text="What is forecast to be paid for it (nothing once terminated: forfeited).")
    method = serializers.CharField(help_text='"actual", "last year" (shaped by last year\'s months) or "run-rate".')
    next_threshold = serializers.CharField(source="next_kind", allow_blank=True,
                                           help_text='"tier", "minimum", "cap", or "" when there is none.')
    next_measure = serializers.CharField(allow_blank=True, help_text='"units" or "amount".')
    to_go_units = _quantity(allow_null=True, help_text="Units still to buy to reach it.")
    to_go_amount = _money(allow_null=True, help_text="The same as net purchases.")
    next_extra = _money(allow_null=True, help_text="What reaching it adds to the period's rebate.")
    next_extra_catch_up = _money(allow_null=True, help_text="The part that restates the period's earlier months.")
    days_left = serializers.IntegerField(allow_null=True, help_text="Days to the period's end.")
    needed_per_month = _quantity(allow_null=True, help_text="Monthly run-rate (in the measure) needed to reach it.")
    own_per_month = _quantity(allow_null=True, help_text="The period's own monthly run-rate so far.")


class ForecastFilters(QueryParams):
    customer = serializers.CharField(required=False, max_length=40, help_text="Customer ERP code.")
    agreement = serializers.CharField(required=False, max_length=40, help_text="Agreement number.")


FILTER_PARAMETERS = [OpenApiParameter("customer", OpenApiTypes.STR, description="Customer ERP code."),
                     OpenApiParameter("agreement", OpenApiTypes.STR, description="Agreement number.")]


def _filters(request) -> dict:
    """The customer and agreement filters of the query: one sent empty answers 400 naming it."""
    incoming = ForecastFilters(data=request.query_params)
    incoming.is_valid(raise_exception=True)
    return dict(incoming.validated_data)


def _export_filters(request) -> dict:
    """The filters of a download: besides `_filters`' checks, a code naming nothing the user may see answers
    400 naming the filter (a typo never downloads an empty sheet)."""
    filters = _filters(request)
    try:
        check_filter_codes(request.user, filters, among="those you may see")
    except ExportFilterError as error:
        raise ApiError(str(error), details=[{"field": error.field, "message": str(error)}]) from error
    return filters


FORECAST = {"agreement": "AG-2026-0042", "customer": "C00042", "as_of": "2026-02-28", "period_start": "2026-01",
            "period_end": "2026-12", "payout_month": "2027-01", "volume_quantity": "4800.000",
            "volume_amount": "48000.00", "rebate": "960.00", "rebate_to_date": "80.00", "payout": "960.00",
            "method": "run-rate", "next_threshold": "tier", "next_measure": "units", "to_go_units": "200.000",
            "to_go_amount": "2000.00", "next_extra": "120.00", "next_extra_catch_up": "80.00", "days_left": 306,
            "needed_per_month": "20.000", "own_per_month": "400.000"}


@extend_schema_view(list=extend_schema(
    summary="Next tier and forecast per agreement",
    description="The latest outlook of each agreement you may see, made after the last accrual run: where its "
                "settlement period stands against its next threshold (tier, minimum or cap), what reaching it "
                "adds, and the period's forecast volume, rebate and payout. Empty before the first outlook.",
    parameters=FILTER_PARAMETERS,
    examples=[OpenApiExample("After February", response_only=True, value=FORECAST)]))
class ForecastViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = ForecastOut
    filter_backends = []
    required_permissions = {"list": READ}

    def get_queryset(self):
        return _outlook_rows(self.request.user, _filters(self.request))


def _outlook_rows(user, filters: dict):
    return forecasts.agreement_forecasts(user=user, **filters).order_by("agreement__number", "pk")


class ForecastOutlookExportView(ApiView):
    required_permissions = {"get": EXPORT}
    pagination_class = None
    filter_backends = []
    serializer_class = ForecastOut

    @extend_schema(summary="Next tier and forecast per agreement as .xlsx",
                   description="The rows of forecasts/ (the same filters), one per agreement, amounts in its "
                               "currency (the last column). A customer or agreement you may not see answers 400 "
                               "naming the filter.",
                   parameters=FILTER_PARAMETERS,
                   responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="The .xlsx file.")})
    def get(self, request):
        rows = _outlook_rows(request.user, _export_filters(request))
        return agreement_outlook_export(rows.iterator(chunk_size=2000), format="xlsx")


class PayoutMonthOut(serializers.Serializer):
    month = MonthField(help_text="The month of payout.")
    agreements = serializers.IntegerField()
    rebate = _money(help_text="What the periods paid that month are forecast to earn.")
    payout = _money(help_text="What they are forecast to pay (terminated agreements forfeit).")
    earned_to_date = _money(help_text="What they had earned by the outlook's as-of date.")
    currency = serializers.CharField(help_text="What the figures are in: the agreements' currency (ISO 4217); a "
                                               "month with agreements in two currencies has a row for each.")




class ForecastLiabilityView(ApiView):
    required_permissions = {"get": READ}
    serializer_class = PayoutMonthOut
    pagination_class = None
    filter_backends = []

    @extend_schema(summary="Forecast liability by month of payout",
                   description="Over the agreements you may see, from the latest outlook: per month of payout, "
                               "the forecast rebate and payout of the settlement periods paid that month.",
                   responses={200: PayoutMonthOut(many=True)},
                   examples=[OpenApiExample("January", response_only=True, value=[
                       {"month": "2027-01", "agreements": 412, "rebate": "183220.40", "payout": "181004.15",
                        "earned_to_date": "150310.00", "currency": "USD"}])])
    def get(self, request):
        months = forecasts.forecast_liability_by_month(user=request.user)
        return Response(PayoutMonthOut(months, many=True).data)


class ForecastLiabilityExportView(ApiView):
    required_permissions = {"get": EXPORT}
    pagination_class = None
    filter_backends = []
    serializer_class = PayoutMonthOut

    @extend_schema(summary="Forecast liability by month of payout as .xlsx",
                   responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="The .xlsx file.")})
    def get(self, request):
        months = forecasts.forecast_liability_by_month(user=request.user)
        return forecast_months_export(months, forecasts.totals_by_currency(months), format="xlsx")


class ForecastCheckOut(serializers.Serializer):
    agreement = serializers.CharField(source="forecast.agreement.number")
    customer = serializers.CharField(source="forecast.agreement.customer.code")
    forecast_as_of = serializers.DateField(source="forecast.as_of",
                                           help_text="The as-of date of the accrual run whose forecast this was.")
    period_start = MonthField(source="forecast.period_start")
    period_end = MonthField(source="forecast.period_end", help_text="Last month of the settlement period.")
    forecast_volume_quantity = _quantity(source="forecast.volume_quantity", help_text="Forecast units.")
    forecast_volume_amount = _money(source="forecast.volume_amount", help_text="Forecast net purchases.")
    forecast_rebate = _money(source="forecast.rebate", help_text="What the period was forecast to earn.")
    actual_volume_quantity = _quantity(source="actual_units", help_text="The net units the ledger booked.")
    actual_volume_amount = _money(source="actual_amount", help_text="The net purchases in scope it booked.")
    actual_rebate = _money(source="actual", help_text="What the period earned: accrual, catch-up, adjustment.")
    error = _money(help_text="Forecast less actual rebate: positive when the forecast was too high.")
    error_percent = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True,
                                             help_text="The error in percent of the actual; null when the "
                                                       "period earned nothing.")
    currency = serializers.CharField(source="forecast.agreement.customer.currency",
                                     help_text="What the amounts are in: the agreement's currency (ISO 4217).")


CHECK = {"agreement": "AG-2026-0042", "customer": "C00042", "forecast_as_of": "2026-02-28",
         "period_start": "2026-01", "period_end": "2026-03", "forecast_volume_quantity": "1200.000",
         "forecast_volume_amount": "12000.00", "forecast_rebate": "240.00", "actual_volume_quantity": "900.000",
         "actual_volume_amount": "9000.00", "actual_rebate": "90.00", "error": "150.00", "error_percent": "166.7",
         "currency": "USD"}


@extend_schema_view(list=extend_schema(
    summary="Last month's forecasts against what happened",
    description="The forecasts of the latest run as of a month or more before the latest one, for the "
                "settlement periods of the agreements you may see that have ended since, each beside what the "
                "period in fact booked, with the error; the largest errors first. Empty before there are two "
                "months of outlooks.",
    parameters=FILTER_PARAMETERS,
    examples=[OpenApiExample("A quarter that bought less", response_only=True, value=CHECK)]))
class ForecastAccuracyViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = ForecastCheckOut
    filter_backends = []
    required_permissions = {"list": READ}

    def get_queryset(self):
        return forecasts.forecast_check_rows(user=self.request.user, **_filters(self.request))[1]

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        checks = [forecasts.ForecastCheck.of(row) for row in page]
        return self.get_paginated_response(self.get_serializer(checks, many=True).data)


def _checks(user, filters: dict) -> list:
    return forecasts.forecast_checks(user=user, limit=None, **filters)[1]


class ForecastAccuracyExportView(ApiView):
    required_permissions = {"get": EXPORT}
    pagination_class = None
    filter_backends = []
    serializer_class = ForecastCheckOut

    @extend_schema(summary="Last month's forecasts against what happened as .xlsx",
                   description="The rows of forecast-accuracy/ (the same filters), amounts in each agreement's "
                               "currency (the last column). A customer or agreement you may not see answers 400 "
                               "naming the filter.",
                   parameters=FILTER_PARAMETERS,
                   responses={(200, XLSX): OpenApiResponse(OpenApiTypes.BINARY, description="The .xlsx file.")})
    def get(self, request):
        return forecast_accuracy_export(_checks(request.user, _export_filters(request)), format="xlsx")
