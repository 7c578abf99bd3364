"""Buying groups in the API (docs/buying-groups.md): a group agreement's members and split, on its statement;
a member's share of its groups' agreements."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from config import clock
from config.api.fields import DayField, MonthField
from config.api.filters import QueryParams
from config.api.views import ApiView
from customers.models import Customer
from rebates.groups import member_shares


def _share_fields(part):
    return {"share": f"{part.share.numerator}/{part.share.denominator}",
            "share_percent": round(100 * part.share.numerator / part.share.denominator, 4)}


class MemberPartOut(serializers.Serializer):
    member = serializers.CharField(help_text="The member's ERP code.")
    volume = serializers.DecimalField(max_digits=18, decimal_places=3,
                                      help_text="Its volume in the period: units or net amount, as the rule measures.")
    share = serializers.CharField(help_text="Its share of the period's volume, as an exact fraction (5/12).")
    share_percent = serializers.DecimalField(max_digits=8, decimal_places=4)
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True,
                                      help_text="Its part of the period's rebate; null when the group is paid.")

    def to_representation(self, instance):
        return super().to_representation({"member": instance.member, "volume": instance.volume,
                                          "amount": instance.amount, **_share_fields(instance)})


class GroupPeriodOut(serializers.Serializer):
    first = MonthField()
    last = MonthField()
    earned = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="What the ledger holds for it.")
    parts = MemberPartOut(many=True)


class GroupLineOut(serializers.Serializer):
    month = MonthField()
    member = serializers.CharField()
    units = serializers.DecimalField(max_digits=18, decimal_places=3)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)

    def to_representation(self, instance):
        month, member, units, amount = instance
        return super().to_representation({"month": month, "member": member, "units": units, "amount": amount})


class BuyingGroupOut(serializers.Serializer):
    split = serializers.BooleanField(help_text="Split among the members (true) or paid to the group.")
    measured_in = serializers.ChoiceField(choices=["units", "amount"], help_text="What the shares are read on.")
    lines = GroupLineOut(many=True, help_text="The members' purchases in scope that feed it, by month and member.")
    periods = GroupPeriodOut(many=True)


class MemberPaymentOut(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="What the settlement paid the member.")
    payment_reference = serializers.CharField(help_text="The member's own credit note number.")
    paid_on = serializers.DateField()
    through = MonthField(help_text="The last month the settlement paid (an interim payment's, or the period's).")
    interim = serializers.BooleanField()


class MemberShareOut(serializers.Serializer):
    agreement = serializers.CharField(help_text="The group agreement's number.")
    group = serializers.CharField(help_text="The group's ERP code.")
    first = MonthField()
    last = MonthField()
    volume = serializers.DecimalField(max_digits=18, decimal_places=3)
    share = serializers.CharField()
    share_percent = serializers.DecimalField(max_digits=8, decimal_places=4)
    amount = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    payments = MemberPaymentOut(many=True, help_text="A split agreement: what the period's paid settlements paid "
                                                     "the member, each with its own credit note.")

    def to_representation(self, instance):
        return super().to_representation({
            "agreement": instance.agreement, "group": instance.group, "first": instance.first, "last": instance.last,
            "volume": instance.volume, "amount": instance.amount, "payments": instance.payments,
            **_share_fields(instance)})


class SharesIn(QueryParams):
    as_of = DayField(required=False, help_text="The shares as of this date; today when left out.")


SHARES = [{"agreement": "AG-G-2026", "group": "G00007", "first": "2026-01", "last": "2026-03", "volume": "500.000",
           "share": "5/12", "share_percent": "41.6667", "amount": "100.00",
           "payments": [{"amount": "100.00", "payment_reference": "CN-2026-0043", "paid_on": "2026-04-10",
                         "through": "2026-03", "interim": False}]}]


class MemberSharesView(ApiView):
    """A member's share of its buying groups' agreements: its own volume, share and part only."""

    required_permissions = {"get": ("customers.view_customer", "rebates.view_rebateagreement")}
    serializer_class = MemberShareOut
    pagination_class = None
    filter_backends = []

    @extend_schema(summary="A member's share of its groups' rebates", responses=MemberShareOut(many=True),
                   description="Per group agreement and settlement period: the customer's volume, its share of "
                               "the group's and its part of the rebate (null when the group is paid), and what the "
                               "period's paid settlements paid it with its own credit notes. Nothing of "
                               "the other members. 404 for a customer you may not see.",
                   parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE, description="Default today.")],
                   examples=[OpenApiExample("Shares", value=SHARES)])
    def get(self, request, code):
        incoming = SharesIn(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        customer = get_object_or_404(Customer.objects.visible_to(request.user), code=code)
        shares = member_shares(customer, as_of=incoming.validated_data.get("as_of") or clock.today())
        return Response(MemberShareOut(shares, many=True).data)
