"""The watchlist over REST (pages/watchlist.py): it reads rebates and market signals together, so it is
served from here, beside the page."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from config.api.views import ApiView
from pages.watchlist import watchlist


class WatchItemOut(serializers.Serializer):
    kind = serializers.CharField(help_text="near_tier, minimum_at_risk, commitment_at_risk, falling_volume, "
                                           "undercutting_claim or signal_exposure.")
    kind_label = serializers.CharField()
    customer = serializers.CharField(source="customer_code")
    customer_name = serializers.CharField()
    agreement = serializers.CharField(source="agreement_number", allow_null=True)
    reason = serializers.CharField(help_text="Why, in words.")
    money = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="The money involved.")
    currency = serializers.CharField(help_text="What `money` and the amounts of `reason` are in: the customer's "
                                               "currency (ISO 4217).")
    link = serializers.CharField(help_text="The page to look at (a path of this site).")


WATCH_ITEM = {"kind": "near_tier", "kind_label": "About to reach a tier", "customer": "C00042",
              "customer_name": "Northgate Industrial Supply", "agreement": "AG-2026-0042",
              "reason": "200 units to the next tier, about a month at its own pace of 400 units; reaching it adds "
                        "$120.00, $80.00 of it catch-up on the period's earlier months.",
              "money": "120.00", "currency": "USD", "link": "/agreements/AG-2026-0042/"}


class WatchlistView(ApiView):
    required_permissions = {"get": ("rebates.view_agreementforecast", "pricing_signals.view_priceclaim")}
    serializer_class = WatchItemOut
    pagination_class = None
    filter_backends = []

    @extend_schema(summary="Watchlist",
                   description="Among the customers you may see: agreements about to reach a tier, at risk of "
                               "missing their minimum or commitment, customers buying less than in the same months "
                               "last year, and customers with a claim below their net-net or exposed to an open "
                               "market signal; each with the reason in words and the money involved, the most "
                               "money first.",
                   responses={200: WatchItemOut(many=True)},
                   examples=[OpenApiExample("About to reach a tier", response_only=True, value=[WATCH_ITEM])])
    def get(self, request):
        return Response(WatchItemOut(watchlist(user=request.user), many=True).data)
