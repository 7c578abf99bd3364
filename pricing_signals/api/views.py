"""Price claims (POST answers with the claim's status, its net-net price and the customer's credibility) and
market signals with their decision."""

from django.db.models import Prefetch
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from config.api.errors import ApiError, Conflict
from config.api.fields import DayField, ExactDecimalField, MonthField
from config.api.inputs import StrictInput
from config.api.schema import ErrorSerializer
from config.api.views import ApiViewSet
from pricing_signals.filtersets import MarketSignalFilterSet, PriceClaimFilterSet
from pricing_signals.models import MarketSignal, PriceClaim
from pricing_signals.selectors import (
    claims_credibility,
    claims_net_net,
    claims_visible,
    exposure_total,
    market_signal_match_preview,
    signal_claims,
    signal_exposure,
    signals_visible,
)
from pricing_signals.services import MarketSignalConflict, market_signal_decide, price_claim_record
from rebates.models import RebateAgreement

# --- price claims -----------------------------------------------------------------------------------


class NetNetOut(serializers.Serializer):
    agreement = serializers.CharField(source="agreement.number")
    contract_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    rebate_per_unit = serializers.DecimalField(max_digits=14, decimal_places=4)
    net_net_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    undercuts = serializers.BooleanField(help_text="False: the claimed price is at or above net-net, not cheaper.")


class CredibilityOut(serializers.Serializer):
    corroborated = serializers.IntegerField()
    judged = serializers.IntegerField()
    percent = serializers.DecimalField(max_digits=5, decimal_places=1, allow_null=True)


class ClaimOut(serializers.ModelSerializer):
    customer = serializers.CharField(source="customer.code")
    product = serializers.CharField(source="product.sku")
    competitor = serializers.CharField(source="competitor.name")
    claimed_unit_price = serializers.DecimalField(source="claimed_price", max_digits=14, decimal_places=4)
    reported_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PriceClaim
        fields = ["id", "customer", "product", "competitor", "claimed_unit_price", "reported_on", "channel", "note",
                  "status", "signal", "reported_by", "created_at"]
        read_only_fields = fields


class ClaimDetailOut(ClaimOut):
    net_net = serializers.SerializerMethodField()
    credibility = serializers.SerializerMethodField()

    class Meta(ClaimOut.Meta):
        fields = [*ClaimOut.Meta.fields, "net_net", "credibility"]
        read_only_fields = fields

    @extend_schema_field(NetNetOut(allow_null=True))
    def get_net_net(self, claim) -> dict | None:
        figures = claims_net_net([claim]).get(claim.pk)
        return NetNetOut(figures).data if figures else None

    @extend_schema_field(CredibilityOut)
    def get_credibility(self, claim) -> dict:
        return CredibilityOut(claims_credibility([claim])[claim.pk]).data


class ClaimIn(StrictInput):
    customer = serializers.CharField(max_length=40, help_text="Customer ERP code.")
    product = serializers.CharField(max_length=60, help_text="SKU.")
    competitor = serializers.CharField(max_length=120, help_text="Competitor name (added if new).")
    claimed_unit_price = ExactDecimalField(max_digits=14, decimal_places=4, min_value=0)
    reported_on = DayField()
    channel = serializers.ChoiceField(choices=PriceClaim.Channel.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


CLAIM = {"id": 412, "customer": "C00042", "product": "SKU-00007", "competitor": "Apex Supply",
         "claimed_unit_price": "11.4000", "reported_on": "2026-09-08", "channel": "call", "note": "Quoted on the phone",
         "status": "pending", "signal": None, "reported_by": "am.jones", "created_at": "2026-09-08T10:12:00Z"}
CLAIM_DETAIL = {**CLAIM, "net_net": {"agreement": "AG-2026-0042", "contract_price": "12.1000",
                                     "rebate_per_unit": "0.2500", "net_net_price": "11.8500", "undercuts": True},
                "credibility": {"corroborated": 3, "judged": 4, "percent": "75.0"}}


@extend_schema_view(
    list=extend_schema(summary="Price claims", description="Claims of the customers you may see, newest first.",
                       examples=[OpenApiExample("A claim", response_only=True, value=CLAIM)]),
    retrieve=extend_schema(summary="One price claim", description="With its net-net price and the customer's "
                                                                  "credibility; 404 if not one of yours.",
                           responses=ClaimDetailOut,
                           examples=[OpenApiExample("A claim", response_only=True, value=CLAIM_DETAIL)]),
    create=extend_schema(
        summary="Record a price claim",
        description="Answers with the claim: its status (pending until the check that runs seconds later "
                    "corroborates it or not), its net-net price and the customer's credibility.",
        request=ClaimIn, responses={201: ClaimDetailOut},
        examples=[OpenApiExample("A call", request_only=True, value={
            "customer": "C00042", "product": "SKU-00007", "competitor": "Apex Supply", "claimed_unit_price": "11.40",
            "reported_on": "2026-09-08", "channel": "call", "note": "Quoted on the phone"}),
                  OpenApiExample("Recorded", response_only=True, status_codes=["201"], value=CLAIM_DETAIL)]),
)
class PriceClaimViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = ClaimOut
    filterset_class = PriceClaimFilterSet
    required_permissions = {
        "list": ("pricing_signals.view_priceclaim",), "retrieve": ("pricing_signals.view_priceclaim",),
        "create": ("pricing_signals.add_priceclaim",),
    }

    def get_queryset(self):
        return claims_visible(user=self.request.user).order_by("-reported_on", "-id")

    def get_serializer_class(self):
        return ClaimDetailOut if self.action in ("retrieve", "create") else ClaimOut

    def create(self, request, *args, **kwargs):
        incoming = ClaimIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        claim = price_claim_record(user=request.user, **incoming.validated_data)
        return Response(ClaimDetailOut(self.get_queryset().get(pk=claim.pk)).data, status=status.HTTP_201_CREATED)


# --- market signals ---------------------------------------------------------------------------------


class SignalOut(serializers.ModelSerializer):
    product = serializers.CharField(source="product.sku")
    competitor = serializers.CharField(source="competitor.name", allow_null=True, default=None)
    decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    # Empty until a pricing manager decides (the schema says so: match, hold or "").
    decision = serializers.ChoiceField(choices=MarketSignal.Decision.choices, allow_blank=True, read_only=True)
    match_effective_from = MonthField(allow_null=True)
    matched_agreements = serializers.SlugRelatedField(slug_field="number", many=True, read_only=True)

    class Meta:
        model = MarketSignal
        fields = ["id", "product", "competitor", "window_start", "window_end", "claim_count", "customer_count",
                  "median_price", "our_average_price", "drop_percent", "status", "decision", "decision_reason",
                  "decided_by", "decided_at", "match_price", "match_effective_from", "matched_agreements",
                  "merged_into", "detected_at"]
        read_only_fields = fields


class ExposureOut(serializers.Serializer):
    agreement = serializers.CharField(source="number")
    customer = serializers.CharField(source="customer.code")
    customer_name = serializers.CharField(source="customer.name")
    account_manager = serializers.CharField(source="customer.account_manager.username", allow_null=True,
                                            default=None)
    net_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    monthly_volume = serializers.DecimalField(max_digits=14, decimal_places=3)
    unpaid_rebate = serializers.DecimalField(max_digits=16, decimal_places=2)


class ExposureTotalOut(serializers.Serializer):
    agreements = serializers.IntegerField()
    customers = serializers.IntegerField()
    unpaid_rebate = serializers.DecimalField(max_digits=18, decimal_places=2)


class SignalDetailOut(SignalOut):
    claims = serializers.SerializerMethodField()
    exposure = serializers.SerializerMethodField()
    exposure_total = serializers.SerializerMethodField()

    class Meta(SignalOut.Meta):
        fields = [*SignalOut.Meta.fields, "claims", "exposure", "exposure_total"]
        read_only_fields = fields

    def _user(self):
        return self.context["request"].user

    @extend_schema_field(ClaimOut(many=True))
    def get_claims(self, signal) -> list[dict]:
        return ClaimOut(signal_claims(user=self._user(), signal=signal), many=True).data

    @extend_schema_field(ExposureOut(many=True))
    def get_exposure(self, signal) -> list[dict]:
        return ExposureOut(self._rows(signal), many=True).data

    @extend_schema_field(ExposureTotalOut)
    def get_exposure_total(self, signal) -> dict:
        return ExposureTotalOut(exposure_total(self._rows(signal))).data

    def _rows(self, signal):
        cache = self.context.setdefault("exposure", {})
        if signal.pk not in cache:
            cache[signal.pk] = list(signal_exposure(user=self._user(), signal=signal))
        return cache[signal.pk]


class DecisionIn(StrictInput):
    decision = serializers.ChoiceField(choices=MarketSignal.Decision.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000,
                                   help_text="Required to hold.")
    match_price = ExactDecimalField(max_digits=14, decimal_places=4, min_value=0, required=False,
                                           allow_null=True, help_text="To match: the new contract net price.")
    effective_from = MonthField(required=False, help_text="To match: the first month of the new price, YYYY-MM.")
    agreements = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=1000,
                                       help_text="To match: the agreement numbers that get the new price.")


class PreviewIn(StrictInput):
    match_price = ExactDecimalField(max_digits=14, decimal_places=4, min_value=0,
                                    help_text="The new contract net price of the signal's product.")
    effective_from = MonthField(help_text="The first month of the new price, YYYY-MM.")
    agreements = serializers.ListField(child=serializers.CharField(max_length=40), max_length=1000,
                                       help_text="The agreement numbers that would get the new price.")


class PreviewRowOut(serializers.Serializer):
    agreement = serializers.CharField(source="agreement.number")
    customer = serializers.CharField(source="agreement.customer.code")
    current_price = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True,
                                             help_text="The product's price in force that month now; null: none.")
    new_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    change_percent = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    monthly_volume = serializers.DecimalField(max_digits=14, decimal_places=3,
                                              help_text="Average units a month over the last three complete months.")
    monthly_effect = serializers.DecimalField(max_digits=18, decimal_places=2, allow_null=True,
                                              help_text="(new - current) x monthly volume; negative: revenue given up.")
    warning = serializers.CharField(help_text="Set when the price falls by more than warning_percent.")
    problem = serializers.CharField(help_text="Set when recording the match would be refused for this agreement.")


class PreviewOut(serializers.Serializer):
    signal = serializers.IntegerField(source="signal.pk")
    product = serializers.CharField(source="signal.product.sku")
    match_price = serializers.DecimalField(max_digits=14, decimal_places=4)
    effective_from = MonthField()
    warning_percent = serializers.DecimalField(max_digits=6, decimal_places=2)
    warnings = serializers.IntegerField()
    problems = serializers.IntegerField()
    monthly_effect = serializers.DecimalField(max_digits=18, decimal_places=2)
    agreements = PreviewRowOut(source="rows", many=True)


PREVIEW = {"signal": 12, "product": "FAS-101", "match_price": "11.4000", "effective_from": "2026-10",
           "warning_percent": "20.00", "warnings": 1, "problems": 0, "monthly_effect": "-1016.00",
           "agreements": [{"agreement": "AG-C-1007-2026", "customer": "C-1007", "current_price": "21.5600",
                           "new_price": "11.4000", "change_percent": "-47.12", "monthly_volume": "100.000",
                           "monthly_effect": "-1016.00",
                           "warning": "The price of FAS-101 falls by 47.12%, more than 20%.", "problem": ""}]}

SIGNAL = {"id": 12, "product": "SKU-00007", "competitor": None, "window_start": "2026-09-02",
          "window_end": "2026-09-20", "claim_count": 3, "customer_count": 3, "median_price": "11.4000",
          "our_average_price": "12.0500", "drop_percent": "5.39", "status": "open", "decision": "",
          "decision_reason": "", "decided_by": None, "decided_at": None, "match_price": None,
          "match_effective_from": None, "matched_agreements": [], "merged_into": None,
          "detected_at": "2026-09-20T10:00:05Z"}
EXPOSURE = {
    "exposure": [{"agreement": "AG-2026-0077", "customer": "C00077", "customer_name": "Summit Builders",
                  "account_manager": "am.jones", "net_price": "12.1000", "monthly_volume": "40.000",
                  "unpaid_rebate": "120.00"}],
    "exposure_total": {"agreements": 1, "customers": 1, "unpaid_rebate": "120.00"},
}
MATCHED = {**SIGNAL, "status": "matched", "decision": "match", "decided_by": "pricing",
           "decided_at": "2026-09-22T09:00:00Z", "match_price": "11.4000", "match_effective_from": "2026-10",
           "matched_agreements": ["AG-2026-0042"]}


@extend_schema_view(
    list=extend_schema(summary="Market signals", description="Newest window first.",
                       examples=[OpenApiExample("A signal", response_only=True, value=SIGNAL)]),
    retrieve=extend_schema(summary="One market signal",
                           description="With the claims behind it that you may see, and its exposure: the other "
                                       "active agreements covering the product priced above the signal, yours only "
                                       "if you are an account manager.",
                           responses=SignalDetailOut,
                           examples=[OpenApiExample("A signal", response_only=True, value={
                               **SIGNAL, "claims": [], **EXPOSURE})]),
    decision=extend_schema(
        summary="Decide on a market signal",
        description="match: the new contract net price of the signal's product (no other product) from a month "
                    "for the chosen agreements (preview it first with decision/preview/); hold: keep prices, "
                    "saying why. A later decision supersedes the one in force, which stays in the signal's "
                    "history; a closed or merged signal is not decided (409).",
        request=DecisionIn,
        responses={200: SignalOut, 409: OpenApiResponse(ErrorSerializer, description="Closed or merged.")},
        examples=[OpenApiExample("Match", request_only=True, value={
            "decision": "match", "match_price": "11.40", "effective_from": "2026-10", "agreements": ["AG-2026-0042"]}),
                  OpenApiExample("Hold", request_only=True,
                                 value={"decision": "hold", "reason": "Only one region; watch for a month."}),
                  OpenApiExample("Matched", response_only=True, value=MATCHED)]),
    decision_preview=extend_schema(
        summary="Preview a match",
        description="What matching would do, agreement by agreement, recording nothing: the current and new "
                    "price of the signal's product, the change in percent, a month's volume and its effect in "
                    "money, a warning where the price falls by more than warning_percent, and any reason the "
                    "match would be refused.",
        request=PreviewIn, responses={200: PreviewOut},
        examples=[OpenApiExample("Preview", request_only=True, value={
            "match_price": "11.40", "effective_from": "2026-10", "agreements": ["AG-C-1007-2026"]}),
                  OpenApiExample("Previewed", response_only=True, value=PREVIEW)]),
)
class MarketSignalViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    serializer_class = SignalOut
    filterset_class = MarketSignalFilterSet
    required_permissions = {
        "list": ("pricing_signals.view_marketsignal",), "retrieve": ("pricing_signals.view_marketsignal",),
        "decision": ("pricing_signals.view_marketsignal", "pricing_signals.decide_marketsignal"),
        "decision_preview": ("pricing_signals.view_marketsignal", "pricing_signals.decide_marketsignal"),
    }

    def get_queryset(self):
        # Matched agreements of other managers' customers stay out of an account manager's answer.
        matched = Prefetch("matched_agreements", queryset=RebateAgreement.objects.visible_to(self.request.user))
        return signals_visible(user=self.request.user).prefetch_related(matched).order_by("-window_end", "-id")

    def get_serializer_class(self):
        return SignalDetailOut if self.action == "retrieve" else SignalOut

    @action(detail=True, methods=["post"])
    def decision(self, request, pk=None):
        signal = self.get_object()
        incoming = DecisionIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        numbers = data.get("agreements", [])
        agreements = list(RebateAgreement.objects.visible_to(request.user).filter(number__in=numbers))
        unknown = sorted(set(numbers) - {agreement.number for agreement in agreements})
        if unknown:
            raise ApiError(f"No agreement numbered {', '.join(unknown)}.",
                           details=[{"field": "agreements", "message": f"Unknown agreement {number}."}
                                    for number in unknown])
        try:
            signal = market_signal_decide(user=request.user, signal=signal, decision=data["decision"],
                                          reason=data.get("reason", ""), match_price=data.get("match_price"),
                                          effective_from=data.get("effective_from"),
                                          agreements=agreements if data.get("agreements") else ())
        except MarketSignalConflict as error:
            raise Conflict(str(error)) from error
        return Response(SignalOut(self.get_queryset().get(pk=signal.pk)).data)

    @action(detail=True, methods=["post"], url_path="decision/preview")
    def decision_preview(self, request, pk=None):
        signal = self.get_object()
        incoming = PreviewIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        preview = market_signal_match_preview(user=request.user, signal=signal, match_price=data["match_price"],
                                              effective_from=data["effective_from"], agreements=data["agreements"])
        return Response(PreviewOut(preview).data)
