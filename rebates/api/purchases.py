"""Purchase lines over REST: POST one line or a list of up to 10,000 (upsert by erp_line_id); GET to read."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.response import Response

from config.api.errors import ApiError
from config.api.fields import MONTH_PATTERN, MonthField
from config.api.inputs import UNKNOWN
from config.api.schema import ErrorSerializer
from config.api.views import ApiViewSet
from rebates.api.filters import PurchaseFilter
from rebates.models import PurchaseLine
from rebates.services import PurchaseLinesInvalid, purchase_lines_ingest
from rebates.services.purchases import ALL_FIELDS

MAX_LINES = 10_000


class PurchaseLineOut(serializers.ModelSerializer):
    customer = serializers.SlugRelatedField(slug_field="code", read_only=True)
    product = serializers.SlugRelatedField(slug_field="sku", read_only=True)
    month = MonthField()

    class Meta:
        model = PurchaseLine
        fields = ["erp_line_id", "customer", "product", "month", "quantity", "unit_price", "amount", "unit",
                  "quantity_in_unit", "unit_price_in_unit", "currency", "unit_price_in_currency", "amount_in_currency",
                  "exchange_rate", "source", "import_batch", "created_at", "updated_at"]
        read_only_fields = fields


class HeldLineOut(serializers.Serializer):
    erp_line_id = serializers.CharField()
    reason = serializers.CharField(help_text='e.g. "No EUR rate to USD for 2026-03."')


class IngestAnswer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Lines stored for the first time.")
    updated = serializers.IntegerField(help_text="Lines that existed and whose figures changed.")
    unchanged = serializers.IntegerField(help_text="Lines that existed with the same figures: nothing changed.")
    unmatched = serializers.IntegerField(help_text="Lines no agreement counts (stored anyway).")
    unmatched_lines = serializers.ListField(child=serializers.CharField(), help_text="Their erp_line_ids.")
    held = serializers.IntegerField(help_text="Lines held: their month has no rate from their currency to their "
                                              "customer's (not stored as purchase lines until it comes).")
    held_lines = HeldLineOut(many=True, help_text="Each held line and why.")
    batch = serializers.IntegerField(source="batch.pk", allow_null=True, help_text="The import batch recorded.")


def _decimal(places, digits, description):
    whole = digits - places
    return {"oneOf": [
        {"type": "string", "pattern": rf"^\s*-?[0-9]{{1,{whole}}}(\.[0-9]{{1,{places}}})?\s*$",
         "example": "12.50"},
        {"type": "number", "multipleOf": float(f"1e-{places}"), "maximum": 10 ** whole - 1,
         "minimum": -(10 ** whole - 1)},
    ], "description": description}


LINE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["erp_line_id", "customer", "product", "month", "quantity", "unit_price", "amount"],
    "properties": {
        "erp_line_id": {"type": "string", "minLength": 1, "maxLength": 80, "pattern": r"\S",
                        "description": "The ERP's own line id: a resend with the same id replaces the line."},
        "customer": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": r"\S",
                     "description": "Customer ERP code."},
        "product": {"type": "string", "minLength": 1, "maxLength": 60, "pattern": r"\S", "description": "SKU."},
        "month": {"type": "string", "pattern": MONTH_PATTERN, "description": "YYYY-MM"},
        "quantity": _decimal(3, 14, "Units; negative for a credit note. A decimal string (or a JSON number)."),
        "unit_price": _decimal(4, 14, "Net unit price, not negative."),
        "amount": _decimal(2, 16, "Net amount of the line; negative for a credit note."),
        "unit": {"type": "string", "maxLength": 20, "nullable": True,
                 "description": "The unit of quantity and unit_price: the product's base unit or one of its units "
                                "(e.g. box, case). Absent, null or blank: the base unit."},
        "currency": {"type": "string", "maxLength": 3, "nullable": True,
                     "description": "ISO 4217 code of unit_price and amount (e.g. EUR). Absent, null or blank: the "
                                    "customer's currency. Another one converts at the line's month's rate; a month "
                                    "without that rate holds the line (listed in `held_lines`)."},
    },
}

EXAMPLE_LINE = {"erp_line_id": "INV-2026-03-000123-1", "customer": "C00042", "product": "SKU-00007",
                "month": "2026-03", "quantity": "10", "unit_price": "12.10", "amount": "121.00"}


@extend_schema_view(
    list=extend_schema(summary="Purchase lines", description="Lines of the customers you may see, by month and id.",
                       examples=[OpenApiExample("A page of lines", response_only=True, value={
                           **EXAMPLE_LINE, "quantity": "10.000", "unit_price": "12.1000", "unit": "",
                           "quantity_in_unit": None, "unit_price_in_unit": None, "currency": "",
                           "unit_price_in_currency": None, "amount_in_currency": None, "exchange_rate": None,
                           "source": "api",
                           "import_batch": 7, "created_at": "2026-04-02T01:12:00Z",
                           "updated_at": "2026-04-02T01:12:00Z"})]),
    retrieve=extend_schema(summary="One purchase line", description="By its erp_line_id.",
                           examples=[OpenApiExample("A line", response_only=True, value={
                               **EXAMPLE_LINE, "quantity": "500.000", "unit_price": "0.2420", "unit": "box",
                               "quantity_in_unit": "10.000", "unit_price_in_unit": "12.1000", "currency": "EUR",
                               "unit_price_in_currency": "11.1520", "amount_in_currency": "111.52",
                               "exchange_rate": "1.0850000000", "source": "api",
                               "import_batch": 7, "created_at": "2026-04-02T01:12:00Z",
                               "updated_at": "2026-04-02T01:12:00Z"})]),
    create=extend_schema(
        summary="Send purchase lines",
        description=(
            "One line (an object) or a list of up to 10,000. Lines are upserted by `erp_line_id`: a resend "
            "replaces the line, never duplicates it. One invalid line rejects the whole batch with a 400 whose "
            "`details` name each bad line (0-based `line`) and field; nothing is stored then. A line for an "
            "unknown customer code or SKU is such an error; a line that matches no agreement is stored and "
            "listed in `unmatched_lines`. Send an `Idempotency-Key` to make a resend after a timeout safe. A line "
            "may name its `unit` (a box, a case: one of the product's units); it is stored in the product's base "
            "unit, with the unit and its figures as sent beside. An unknown unit is an error on the field `unit`. A "
            "line may name its `currency`: another than the customer's converts at the month's rate (amount to "
            "the cent, half-up), kept beside as sent; a month without that rate holds the line, listed in "
            "`held_lines` with the reason, until the rate is sent to `exchange-rates/`. An unknown currency "
            "is an error on the field `currency`."
        ),
        request={"application/json": {"oneOf": [
            LINE_SCHEMA, {"type": "array", "items": LINE_SCHEMA, "minItems": 1, "maxItems": MAX_LINES}]}},
        responses={
            200: OpenApiResponse(IngestAnswer, description="Stored: the counts."),
            400: OpenApiResponse(ErrorSerializer, description="Nothing stored; details names each bad line and field.",
                                 examples=[OpenApiExample("Bad lines", status_codes=["400"], value={
                                     "status": 400, "code": "invalid",
                                     "message": "2 problems in 1 of 2 lines; nothing was stored.",
                                     "details": [
                                         {"line": 1, "erp_line_id": "INV-2", "field": "customer",
                                          "message": "No customer has the ERP code 'C99999'."},
                                         {"line": 1, "erp_line_id": "INV-2", "field": "quantity",
                                          "message": "At most 3 decimal places."}]})]),
        },
        examples=[
            OpenApiExample("A batch of lines", request_only=True,
                           value=[EXAMPLE_LINE, {**EXAMPLE_LINE, "erp_line_id": "INV-2026-03-000123-2",
                                                 "quantity": "-2", "amount": "-24.20"}]),
            OpenApiExample("Counts", response_only=True, status_codes=["200"],
                           value={"created": 1, "updated": 0, "unchanged": 1, "unmatched": 1,
                                  "unmatched_lines": ["INV-2026-03-000123-2"], "held": 0, "held_lines": [],
                                  "batch": 7}),
        ],
    ),
)
class PurchaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = PurchaseLineOut
    filterset_class = PurchaseFilter
    lookup_field = "erp_line_id"
    lookup_value_regex = "[^/]+"
    required_permissions = {
        "list": ("rebates.view_purchaseline",),
        "retrieve": ("rebates.view_purchaseline",),
        # Sending a line both adds and replaces.
        "create": ("rebates.add_purchaseline", "rebates.change_purchaseline"),
    }

    def get_queryset(self):
        return (PurchaseLine.objects.visible_to(self.request.user).select_related("customer", "product")
                .order_by("month", "erp_line_id"))

    def create(self, request, *args, **kwargs):
        data = request.data
        lines = [data] if isinstance(data, dict) else data
        if not isinstance(lines, list) or not lines:
            raise ApiError("Send one purchase line (an object) or a non-empty list of them.")
        if len(lines) > MAX_LINES:
            raise ApiError(f"At most {MAX_LINES:,} lines per request; this one has {len(lines):,}. "
                           f"Nothing was stored.")
        unknown = [{"line": index, "erp_line_id": line.get("erp_line_id") if isinstance(line.get("erp_line_id"), str)
                    else None, "field": str(key), "message": UNKNOWN}
                   for index, line in enumerate(lines) if isinstance(line, dict)
                   for key in line if key not in ALL_FIELDS]
        if unknown:
            raise ApiError(f"{len(unknown)} unknown field{'s' if len(unknown) != 1 else ''} in the lines; nothing was "
                           f"stored.", details=unknown)
        try:
            result = purchase_lines_ingest(lines=lines, source=PurchaseLine.Source.API, user=request.user)
        except PurchaseLinesInvalid as invalid:
            bad_lines = len({error["line"] for error in invalid.errors})
            raise ApiError(f"{len(invalid.errors)} problem{'s' if len(invalid.errors) != 1 else ''} in {bad_lines} "
                           f"of {len(lines)} line{'s' if len(lines) != 1 else ''}; nothing was stored.",
                           details=invalid.errors) from invalid
        return Response(IngestAnswer(result).data)
