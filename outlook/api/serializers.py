"""The outlook in and out: customers by code, managers by username, days as YYYY-MM-DD, money as strings."""

from rest_framework import serializers

from config.api.fields import DayField
from config.api.inputs import StrictInput
from customers.models import Contact, Customer


class RiskFactorOut(serializers.Serializer):
    factor = serializers.CharField(help_text="falling_volume, claims_below_net_net, open_signals, little_at_stake "
                                             "or term_ending.")
    points = serializers.IntegerField()
    words = serializers.CharField()


class RiskOut(serializers.Serializer):
    code = serializers.CharField()
    value_tier = serializers.ChoiceField(choices=Customer.ValueTier.choices)
    risk_level = serializers.ChoiceField(choices=Customer.RiskLevel.choices)
    risk_points = serializers.IntegerField()
    valued_on = serializers.DateField(allow_null=True, help_text="When value and risk were last computed.")
    reasons = RiskFactorOut(many=True, source="risk_reasons")
    last_contact_on = serializers.DateField(allow_null=True)
    cadence_days = serializers.IntegerField(allow_null=True, help_text="Days between contacts for its cell.")
    next_contact_on = serializers.DateField(allow_null=True, help_text="Null when never contacted: due now.")


class ContactOut(serializers.Serializer):
    contacted_on = serializers.DateField()
    kind = serializers.CharField(help_text="call, visit, email, meeting, or price_claim for a claim reported.")
    manager = serializers.CharField(help_text="Username of who logged it.")
    note = serializers.CharField()
    claim = serializers.IntegerField(source="claim_id", allow_null=True, help_text="The price claim's id.")


class ContactIn(StrictInput):
    kind = serializers.ChoiceField(choices=Contact.Kind.choices)
    contacted_on = DayField(required=False, help_text="Default: today. Not in the future.")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class ContactDueOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    account_manager = serializers.CharField(allow_null=True, help_text="The account manager's username.")
    value_tier = serializers.ChoiceField(choices=Customer.ValueTier.choices)
    risk_level = serializers.ChoiceField(choices=Customer.RiskLevel.choices)
    risk_points = serializers.IntegerField()
    at_stake = serializers.DecimalField(max_digits=16, decimal_places=2, help_text="Unpaid rebate.")
    last_contact_on = serializers.DateField(allow_null=True)
    cadence_days = serializers.IntegerField(allow_null=True)
    due_on = serializers.DateField(allow_null=True, help_text="Null when never contacted: due now.")
