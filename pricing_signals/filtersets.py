"""One filterset per list of market signal pages, shared with the API: price claims (the claims page and
`GET /api/v1/price-claims/`) and market signals (the signals page and `GET /api/v1/market-signals/`)."""

import django_filters

from config.filtersets import ManagerFilter, MonthFilter, SearchFilter
from pricing_signals.models import MarketSignal, PriceClaim
from rebates.engine.periods import add_months
from rebates.models import ProductLine


def _line_filter():
    return django_filters.ModelChoiceFilter(field_name="product__product_line", queryset=ProductLine.objects
                                            .order_by("name"), to_field_name="code", label="Product line",
                                            help_text="Product line code.")


class PriceClaimFilterSet(django_filters.FilterSet):
    q = SearchFilter(fields=("customer__code", "customer__name", "product__sku", "product__name", "competitor__name"),
                     help_text="Words found in the customer, the product or the competitor.")
    customer = django_filters.CharFilter(field_name="customer__code", help_text="Customer ERP code.")
    product = django_filters.CharFilter(field_name="product__sku", help_text="SKU.")
    status = django_filters.ChoiceFilter(choices=PriceClaim.Status.choices)
    channel = django_filters.ChoiceFilter(choices=PriceClaim.Channel.choices)
    product_line = _line_filter()
    manager = ManagerFilter(field_name="customer__account_manager")
    month_from = MonthFilter(field_name="reported_on", lookup_expr="gte", label="Reported from",
                             help_text="YYYY-MM: reported in or after this month.")
    month_to = MonthFilter(method="filter_month_to", label="Reported to",
                           help_text="YYYY-MM: reported in or before this month.")

    class Meta:
        model = PriceClaim
        fields = ["q", "customer", "product", "status", "channel", "product_line", "manager", "month_from",
                  "month_to"]

    def filter_month_to(self, queryset, name, value):
        return queryset.filter(reported_on__lt=add_months(value, 1)) if value else queryset


class MarketSignalFilterSet(django_filters.FilterSet):
    q = SearchFilter(fields=("product__sku", "product__name", "competitor__name"),
                     help_text="Words found in the product or the competitor.")
    status = django_filters.ChoiceFilter(choices=MarketSignal.Status.choices)
    product = django_filters.CharFilter(field_name="product__sku", help_text="SKU.")
    product_line = _line_filter()
    month_from = MonthFilter(field_name="window_end", lookup_expr="gte", label="Window from",
                             help_text="YYYY-MM: windows ending in or after this month.")
    month_to = MonthFilter(method="filter_month_to", label="Window to",
                           help_text="YYYY-MM: windows starting in or before this month.")

    class Meta:
        model = MarketSignal
        fields = ["q", "status", "product", "product_line", "month_from", "month_to"]

    def filter_month_to(self, queryset, name, value):
        return queryset.filter(window_start__lt=add_months(value, 1)) if value else queryset
