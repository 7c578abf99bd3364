"""Exchange rates over REST: `exchange-rates/` lists the rates and upserts them (one or a list) by currency,
to currency and month; `held-purchases/` lists the lines held for a missing rate (docs/currencies.md)."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.response import Response

from config.api.errors import ApiError
from config.api.fields import MONTH_PATTERN, MonthField
from config.api.schema import ErrorSerializer
from config.api.views import ApiViewSet
from rebates.api.filters import ExchangeRateFilter, HeldPurchaseFilter
from rebates.models import ExchangeRate, HeldPurchaseLine
from rebates.services.currencies import ExchangeRatesInvalid, exchange_rates_set

MAX_RATES = 1000


class ExchangeRateOut(serializers.ModelSerializer):
    month = MonthField()

    class Meta:
        model = ExchangeRate
        fields = ["currency", "to_currency", "month", "rate", "updated_at"]
        read_only_fields = fields


class RatesAnswer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField(help_text="Rates whose figure changed: their month's lines convert again.")
    unchanged = serializers.IntegerField()
    released = serializers.IntegerField(help_text="Held lines stored now that their rate came.")
    reconverted = serializers.IntegerField(help_text="Stored lines converted again at a corrected rate.")
    rates = ExchangeRateOut(many=True)


class HeldPurchaseOut(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="code", read_only=True)
    product = serializers.SlugRelatedField(slug_field="sku", read_only=True)
    month = MonthField()

    class Meta:
        model = HeldPurchaseLine
        fields = ["erp_line_id", "customer", "product", "month", "quantity", "unit_price", "amount", "unit",
                  "currency", "reason", "source", "import_batch", "created_at", "updated_at"]
        read_only_fields = fields


RATE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["currency", "month", "rate"],
    "properties": {
        "currency": {"type": "string", "minLength": 3, "maxLength": 3, "description": "ISO 4217 code, e.g. EUR."},
        "to_currency": {"type": "string", "minLength": 3, "maxLength": 3, "nullable": True,
                        "description": "ISO 4217 code it is priced in; absent: the default currency."},
        "month": {"type": "string", "pattern": MONTH_PATTERN, "description": "YYYY-MM"},
        "rate": {"type": "string", "pattern": r"^\s*[0-9]{1,10}(\.[0-9]{1,10})?\s*$",
                 "description": "Units of to_currency in one currency: a decimal string, up to 10 places."},
    },
}
EXAMPLE = {"currency": "EUR", "to_currency": "USD", "month": "2026-03", "rate": "1.0850000000",
           "updated_at": "2026-04-01T08:00:00Z"}


@extend_schema_view(
    list=extend_schema(summary="Exchange rates", description="Every rate on record, by currency and month.",
                       examples=[OpenApiExample("A rate", response_only=True, value=[EXAMPLE])]),
    create=extend_schema(
        summary="Send exchange rates",
        description=(
            "One rate (an object) or a list of up to 1,000, upserted by currency, to_currency and month. Lines of "
            "that month sent in `currency` for customers in `to_currency` convert at it: lines held for the rate "
            "are stored, and a changed rate converts the month's stored lines again (the agreements they count "
            "for are recomputed by the next run). One invalid rate rejects all with a 400 naming each "
            "rate (0-based `line`) and field; nothing is stored then."),
        request={"application/json": {"oneOf": [
            RATE_SCHEMA, {"type": "array", "items": RATE_SCHEMA, "minItems": 1, "maxItems": MAX_RATES}]}},
        responses={200: RatesAnswer, 400: OpenApiResponse(ErrorSerializer, description="Nothing stored.")},
        examples=[OpenApiExample("March's euro", request_only=True,
                                 value={"currency": "EUR", "to_currency": "USD", "month": "2026-03",
                                        "rate": "1.085"}),
                  OpenApiExample("Stored", response_only=True, status_codes=["200"],
                                 value={"created": 1, "updated": 0, "unchanged": 0, "released": 3,
                                        "reconverted": 0, "rates": [EXAMPLE]})]),
)
class ExchangeRateViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = ExchangeRateOut
    filterset_class = ExchangeRateFilter
    required_permissions = {
        "list": ("rebates.view_exchangerate",),
        "create": ("rebates.add_exchangerate", "rebates.change_exchangerate"),
    }

    def get_queryset(self):
        return ExchangeRate.objects.order_by("currency", "to_currency", "-month", "pk")

    def create(self, request, *args, **kwargs):
        data = request.data
        rates = [data] if isinstance(data, dict) else data
        if not isinstance(rates, list) or not rates:
            raise ApiError("Send one exchange rate (an object) or a non-empty list of them.")
        if len(rates) > MAX_RATES:
            raise ApiError(f"At most {MAX_RATES:,} rates per request; this one has {len(rates):,}. Nothing was stored.")
        try:
            result = exchange_rates_set(rates=rates, by=request.user)
        except ExchangeRatesInvalid as invalid:
            raise ApiError(f"{len(invalid.errors)} problem{'s' if len(invalid.errors) != 1 else ''} in the rates; "
                           f"nothing was stored.", details=invalid.errors) from invalid
        return Response(RatesAnswer(result).data)


@extend_schema_view(
    list=extend_schema(summary="Held purchase lines",
                       description="Lines of the customers you may see that wait for their month's rate, as sent, "
                                   "with the reason.",
                       examples=[OpenApiExample("A held line", response_only=True, value=[{
                           "erp_line_id": "INV-2026-03-000123-1", "customer": "C00042", "product": "SKU-00007",
                           "month": "2026-03", "quantity": "10.000", "unit_price": "11.1520", "amount": "111.52",
                           "unit": "", "currency": "EUR", "reason": "No EUR rate to USD for 2026-03.",
                           "source": "api", "import_batch": 7, "created_at": "2026-04-02T01:12:00Z",
                           "updated_at": "2026-04-02T01:12:00Z"}])])
)
class HeldPurchaseViewSet(mixins.ListModelMixin, ApiViewSet):
    serializer_class = HeldPurchaseOut
    filterset_class = HeldPurchaseFilter
    required_permissions = {"list": ("rebates.view_heldpurchaseline",)}

    def get_queryset(self):
        return (HeldPurchaseLine.objects.visible_to(self.request.user).select_related("customer", "product")
                .order_by("month", "erp_line_id"))
