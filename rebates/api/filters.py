"""Query filters of the rebates endpoints that have no page (django-filter); customers by code, products by SKU,
months YYYY-MM. The lists with a page share their filterset with it: rebates/filtersets.py."""

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field

from config.filtersets import MonthFilter
from rebates.models import ExchangeRate, HeldPurchaseLine, LedgerEntry, Product, PurchaseLine, RebateProgram


class ProductFilter(django_filters.FilterSet):
    product_line = django_filters.CharFilter(field_name="product_line__code", help_text="Product line code.")

    class Meta:
        model = Product
        fields = ["product_line"]


class ProgramFilter(django_filters.FilterSet):
    class Meta:
        model = RebateProgram
        fields = []


class PurchaseFilter(django_filters.FilterSet):
    customer = django_filters.CharFilter(field_name="customer__code", help_text="Customer ERP code.")
    product = django_filters.CharFilter(field_name="product__sku", help_text="Product SKU.")
    month = MonthFilter(field_name="month", help_text="YYYY-MM")
    month_from = MonthFilter(field_name="month", lookup_expr="gte", help_text="YYYY-MM, inclusive.")
    month_to = MonthFilter(field_name="month", lookup_expr="lte", help_text="YYYY-MM, inclusive.")

    class Meta:
        model = PurchaseLine
        fields = ["customer", "product", "month", "month_from", "month_to"]


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


class ExchangeRateFilter(django_filters.FilterSet):
    currency = django_filters.CharFilter(field_name="currency", help_text="ISO 4217 code of the currency priced.")
    to_currency = django_filters.CharFilter(field_name="to_currency", help_text="ISO 4217 code it is priced in.")
    month = MonthFilter(field_name="month", help_text="YYYY-MM")

    class Meta:
        model = ExchangeRate
        fields = ["currency", "to_currency", "month"]


class HeldPurchaseFilter(django_filters.FilterSet):
    customer = django_filters.CharFilter(field_name="customer__code", help_text="Customer ERP code.")
    currency = django_filters.CharFilter(field_name="currency", help_text="ISO 4217 code the lines were sent in.")
    month = MonthFilter(field_name="month", help_text="YYYY-MM")

    class Meta:
        model = HeldPurchaseLine
        fields = ["customer", "currency", "month"]
