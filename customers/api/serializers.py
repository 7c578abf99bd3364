"""Customers in and out: named by ERP code, account managers by username, segments by code."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from config.api.fields import CodeField, MonthField, NamedRowField
from config.api.inputs import StrictInput
from config.validators import validate_currency
from customers.models import Customer, GroupMembership, Segment


class CustomerOut(serializers.ModelSerializer):
    segment = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    account_manager = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    referred_by = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    referral_from = MonthField(read_only=True, allow_null=True)

    class Meta:
        model = Customer
        fields = ["code", "name", "segment", "account_manager", "status", "value_tier", "risk_level", "lost_on",
                  "referred_by", "referral_from", "referral_months", "currency", "is_group", "created_at",
                  "updated_at"]
        read_only_fields = fields


class CustomerIn(StrictInput):
    """What the ERP sends; `code` only when creating (it names the customer for good)."""

    code = CodeField(max_length=40)
    name = serializers.CharField(max_length=200)
    segment = NamedRowField(slug_field="code", queryset=Segment.objects.all(), required=False, allow_null=True,
                            help_text="Segment code.")
    account_manager = NamedRowField(
        slug_field="username", queryset=get_user_model().objects.filter(is_active=True), required=False,
        allow_null=True, help_text="The account manager's username.")
    status = serializers.ChoiceField(choices=Customer.Status.choices, required=False)
    lost_on = serializers.DateField(required=False, allow_null=True)
    # A referred customer: the three together, or all null (docs/rule-kinds.md, the referral kind).
    referred_by = NamedRowField(slug_field="code", queryset=Customer.objects.all(), required=False,
                                allow_null=True, help_text="The ERP code of the customer who referred this one.")
    referral_from = MonthField(required=False, allow_null=True,
                               help_text="First month (YYYY-MM) its purchases earn the referrer's referral rules.")
    referral_months = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=120,
                                               help_text="How many months from referral_from.")
    currency = serializers.CharField(required=False, min_length=3, max_length=3, validators=[validate_currency],
                                     help_text="ISO 4217 code (e.g. EUR); absent: the default currency. Its "
                                               "agreements book in it; it cannot change once it has agreements "
                                               "or purchase lines.")
    is_group = serializers.BooleanField(required=False, help_text="A buying group: its agreements earn on its "
                                                                  "members' purchases while they are members.")
    # Value tier and risk are computed every night from purchases and claims: an echo is ignored.
    read_only_echoes = ("value_tier", "risk_level")


class CustomerChangeIn(CustomerIn):
    code = None
    read_only_echoes = ("code", "created_at", "updated_at", "value_tier", "risk_level")


class MembershipOut(serializers.ModelSerializer):
    group = serializers.SlugRelatedField(slug_field="code", read_only=True)
    member = serializers.SlugRelatedField(slug_field="code", read_only=True)
    joined = MonthField(read_only=True)
    ended = MonthField(read_only=True, allow_null=True)

    class Meta:
        model = GroupMembership
        fields = ["group", "member", "joined", "ended"]
        read_only_fields = fields


class MembershipIn(StrictInput):
    """A member of the group from a month; sent again with `ended` to end it."""

    member = NamedRowField(slug_field="code", queryset=Customer.objects.all(),
                           help_text="The ERP code of the member customer.")
    joined = MonthField(help_text="First month (YYYY-MM) its purchases count for the group.")
    ended = MonthField(required=False, allow_null=True,
                       help_text="First month (YYYY-MM) they no longer count; null while a member.")
    read_only_echoes = ("group",)
