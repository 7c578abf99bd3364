"""The stored outlook over REST: each agreement's next tier and period-end forecast after the latest run,
and the forecast liability by month of payout (also as .xlsx)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.response import Response

from config.api.fields import MonthField
from config.api.filters import QueryParams
from config.api.views import ApiView, ApiViewSet
from rebates import forecasts
from rebates.exports.cells import XLSX_CONTENT_TYPE as XLSX
from rebates.exports.forecast_months import forecast_months_export

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
    parameters=[OpenApiParameter("customer", OpenApiTypes.STR, description="Customer ERP code."),
                OpenApiParameter("agreement", OpenApiTypes.STR, description="Agreement number.")],
    examples=[OpenApiExample("After February", response_only=True, value=FORECAST)]))
class ForecastViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = ForecastOut
    filter_backends = []
    required_permissions = {"list": READ}

    def get_queryset(self):
        incoming = ForecastFilters(data=self.request.query_params)
        incoming.is_valid(raise_exception=True)
        rows = forecasts.agreement_forecasts(user=self.request.user)
        if "customer" in incoming.validated_data:
            rows = rows.filter(agreement__customer__code=incoming.validated_data["customer"])
        if "agreement" in incoming.validated_data:
            rows = rows.filter(agreement__number=incoming.validated_data["agreement"])
        return rows.order_by("agreement__number", "pk")


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
