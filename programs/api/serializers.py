"""The programs' API in and out: programs by code, months as YYYY-MM, money and units as decimal strings,
percents as decimal strings (null where a formula's denominator is zero)."""

from rest_framework import serializers

from config.api.fields import ExactDecimalField, MonthField
from config.api.inputs import StrictInput
from programs.whatif import KINDS, MAX_DRAFTS


def _money(**kwargs):
    return serializers.DecimalField(max_digits=30, decimal_places=2, **kwargs)


def _converted():
    return _money(allow_null=True, help_text="In the reporting currency; null when a rate it needs is missing "
                                             "(named in `missing_rates`).")


def _figure(**kwargs):
    return serializers.DecimalField(max_digits=30, decimal_places=4, allow_null=True, **kwargs)


class PeriodQuery(StrictInput):
    period_from = MonthField(required=False, help_text="First month. Default: January of this year.")
    period_to = MonthField(required=False, help_text="Last month (at most 12 after the first). Default: last month.")


class GroupOut(serializers.Serializer):
    customers = serializers.IntegerField()
    units_now = _figure()
    units_before = _figure()
    revenue_now = _converted()
    revenue_before = _converted()
    units_growth = _figure(help_text="Percent; null when nothing was bought the year before.")
    revenue_growth = _figure(help_text="Percent; null when nothing was bought the year before.")
    focus_share_now = _figure(help_text="Focus lines' percent of all net revenue.")
    focus_share_before = _figure()
    mix_shift = _figure(help_text="Percentage points.")
    kept = serializers.IntegerField()
    lost = serializers.IntegerField()
    retention = _figure(help_text="Percent; null when no customer bought the year before.")


class CostOut(serializers.Serializer):
    accrued = _converted()
    paid = _converted()
    forfeited = _converted()


class RateOut(serializers.Serializer):
    currency = serializers.CharField()
    to_currency = serializers.CharField()
    month = MonthField()
    rate = serializers.DecimalField(max_digits=30, decimal_places=10, allow_null=True,
                                    help_text="What one unit of `currency` is worth in `to_currency` that month; "
                                              "null: missing, the figures it would convert are null.")


class FormulaOut(serializers.Serializer):
    name = serializers.CharField()
    words = serializers.CharField()


class EffectivenessOut(serializers.Serializer):
    program = serializers.CharField(help_text="The program's code.")
    period_from = MonthField()
    period_to = MonthField()
    year_before_from = MonthField()
    year_before_to = MonthField()
    segments = serializers.ListField(child=serializers.CharField(), help_text="The comparison group's segments.")
    focus_lines = serializers.ListField(child=serializers.CharField())
    currency = serializers.CharField(help_text="The reporting currency every money figure is in.")
    rates = RateOut(many=True, help_text="The rates used (and lacked) to convert each customer's months and the "
                                         "rebate cost into the reporting currency.")
    missing_rates = serializers.ListField(child=serializers.CharField(),
                                          help_text="Each missing rate in words, e.g. "
                                                    "\"No EUR rate to USD for 2026-03.\"")
    program_customers = GroupOut()
    comparison_group = GroupOut()
    cost = CostOut()
    expected_units = _figure()
    incremental_units = _figure()
    expected_revenue = _figure()
    incremental_revenue = _figure()
    cost_per_incremental_unit = _figure(help_text="Null when nothing was incremental.")
    cost_per_incremental_dollar = _figure(help_text="Null when nothing was incremental.")
    formulas = FormulaOut(many=True)


class BandIn(StrictInput):
    threshold = ExactDecimalField(max_digits=16, decimal_places=3)
    rate = ExactDecimalField(max_digits=16, decimal_places=4)


class DraftIn(StrictInput):
    kind = serializers.ChoiceField(choices=KINDS)
    rate = ExactDecimalField(max_digits=16, decimal_places=4, required=False, allow_null=True,
                             help_text="Money per unit, or a percent (2 means 2%).")
    rate_type = serializers.ChoiceField(choices=("per_unit", "percent"), required=False)
    bands = BandIn(many=True, required=False, max_length=20)
    tier_basis = serializers.ChoiceField(choices=("quantity", "amount", "percent_of_baseline"), required=False)
    tier_method = serializers.ChoiceField(choices=("retroactive", "retroactive_on_growth", "incremental"),
                                          required=False)
    baseline = serializers.ChoiceField(choices=("last_year", "stated"), required=False)
    baseline_amount = ExactDecimalField(max_digits=16, decimal_places=2, required=False, allow_null=True)
    minimum = ExactDecimalField(max_digits=16, decimal_places=3, required=False, allow_null=True)
    cap = ExactDecimalField(max_digits=16, decimal_places=2, required=False, allow_null=True)


class WhatIfIn(StrictInput):
    program = serializers.SlugField(max_length=60, help_text="The program's code.")
    period_from = MonthField()
    period_to = MonthField(help_text="At most 12 months after period_from.")
    drafts = DraftIn(many=True, min_length=1, max_length=MAX_DRAFTS)


class CustomerWhatIfOut(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    agreements = serializers.IntegerField()
    current = _money()
    drafts = serializers.ListField(child=_money())
    currency = serializers.CharField(help_text="The customer's: what its figures are in.")


class CurrencyTotalOut(serializers.Serializer):
    currency = serializers.CharField()
    current = _money()
    drafts = serializers.ListField(child=_money())


class WhatIfOut(serializers.Serializer):
    id = serializers.IntegerField()
    program = serializers.CharField()
    period_from = MonthField()
    period_to = MonthField()
    status = serializers.ChoiceField(choices=("queued", "running", "done", "failed"))
    progress = serializers.IntegerField(help_text="Percent done.")
    agreements_total = serializers.IntegerField()
    agreements_done = serializers.IntegerField()
    drafts = serializers.ListField(child=serializers.CharField(), help_text="Each draft in words.")
    current = _money(allow_null=True, help_text="Total under the current terms; null until done. A plain sum: "
                                                "a figure only when the customers share one currency (see totals).")
    draft_totals = serializers.ListField(child=_money())
    totals = CurrencyTotalOut(many=True, help_text="The current terms' and each draft's total per currency, never "
                                                   "added across currencies; empty until done.")
    customers = CustomerWhatIfOut(many=True)
    error = serializers.CharField()
