"""Customers in and out: named by ERP code, account managers by username, segments by code."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from config.api.fields import CodeField, NamedRowField
from config.api.inputs import StrictInput
from customers.models import Customer, Segment


class CustomerOut(serializers.ModelSerializer):
    segment = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    account_manager = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    class Meta:
        model = Customer
        fields = ["code", "name", "segment", "account_manager", "status", "value_tier", "risk_level", "lost_on",
                  "created_at", "updated_at"]
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
    # Value tier and risk are computed every night from purchases and claims: an echo is ignored.
    read_only_echoes = ("value_tier", "risk_level")


class CustomerChangeIn(CustomerIn):
    code = None
    read_only_echoes = ("code", "created_at", "updated_at", "value_tier", "risk_level")
