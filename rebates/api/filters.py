"""Query filters of the rebates endpoints (django-filter); customers by code, products by SKU, months YYYY-MM."""

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from config.api.fields import MONTH_PATTERN, parse_month
from config.validators import MONTH_RULE
from rebates.models import (
    AccrualRun,
    LedgerEntry,
    Product,
    PurchaseLine,
    RebateAgreement,
    RebateProgram,
    Settlement,
)


class MonthFormField(forms.CharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("help_text", "YYYY-MM")
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return parse_month(value)
        except ValueError:
            raise forms.ValidationError(f"A month as YYYY-MM. {MONTH_RULE}", code="invalid") from None


@extend_schema_field({"type": "string", "pattern": MONTH_PATTERN, "example": "2026-03"})
class MonthFilter(django_filters.Filter):
    field_class = MonthFormField


class ProductFilter(django_filters.FilterSet):
    product_line = django_filters.CharFilter(field_name="product_line__code", help_text="Product line code.")

    class Meta:
        model = Product
        fields = ["product_line"]


class ProgramFilter(django_filters.FilterSet):
    class Meta:
        model = RebateProgram
        fields = []


class AgreementFilter(django_filters.FilterSet):
    customer = django_filters.CharFilter(field_name="customer__code", help_text="Customer ERP code.")
    program = django_filters.CharFilter(field_name="program__code", help_text="Program code.")
    status = django_filters.ChoiceFilter(choices=RebateAgreement.Status.choices)

    class Meta:
        model = RebateAgreement
        fields = ["customer", "program", "status"]


class PurchaseFilter(django_filters.FilterSet):
    customer = django_filters.CharFilter(field_name="customer__code", help_text="Customer ERP code.")
    product = django_filters.CharFilter(field_name="product__sku", help_text="Product SKU.")
    month = MonthFilter(field_name="month", help_text="YYYY-MM")
    month_from = MonthFilter(field_name="month", lookup_expr="gte", help_text="YYYY-MM, inclusive.")
    month_to = MonthFilter(field_name="month", lookup_expr="lte", help_text="YYYY-MM, inclusive.")

    class Meta:
        model = PurchaseLine
        fields = ["customer", "product", "month", "month_from", "month_to"]


class AccrualRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AccrualRun.Status.choices)

    class Meta:
        model = AccrualRun
        fields = ["status"]


class SettlementFilter(django_filters.FilterSet):
    customer = django_filters.CharFilter(field_name="agreement__customer__code", help_text="Customer ERP code.")
    agreement = django_filters.CharFilter(field_name="agreement__number", help_text="Agreement number.")
    status = django_filters.ChoiceFilter(choices=Settlement.Status.choices)

    class Meta:
        model = Settlement
        fields = ["customer", "agreement", "status"]


# Ids are bigints: a larger number names no row and is refused rather than sent to the database.
MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.Filter):
    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class LedgerEntryFilter(django_filters.FilterSet):
    agreement = django_filters.CharFilter(field_name="agreement__number", help_text="Agreement number.")
    customer = django_filters.CharFilter(field_name="agreement__customer__code", help_text="Customer ERP code.")
    month_from = MonthFilter(field_name="period", lookup_expr="gte", help_text="YYYY-MM, inclusive.")
    month_to = MonthFilter(field_name="period", lookup_expr="lte", help_text="YYYY-MM, inclusive.")
    kind = django_filters.ChoiceFilter(choices=LedgerEntry.Kind.choices)
    run = IdFilter(field_name="accrual_run", help_text="The accrual run that booked the entries (its id).")

    class Meta:
        model = LedgerEntry
        fields = ["agreement", "customer", "month_from", "month_to", "kind", "run"]
