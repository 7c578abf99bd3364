"""One filterset per list of the rebates app, shared by its page and, where the API has the list, by the API
view: agreements, settlements and accrual runs (page and API); imports and exports (pages). Customers by
code, programs and product lines by code, managers by username, months YYYY-MM."""

import django_filters
from django.db.models import Q
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from config.filtersets import ManagerFilter, MonthFilter, SearchFilter
from rebates.engine.periods import add_months
from rebates.models import AccrualRun, ExportJob, ImportBatch, ProductLine, RebateAgreement, RebateProgram, Settlement


def agreements_covering_line(line):
    """Agreements whose scope holds the product line itself or one of its products (as ids, for `__in`)."""
    return (RebateAgreement.objects.filter(Q(product_lines=line) | Q(products__product_line=line))
            .values("pk"))


def _program_filter(field_name):
    return django_filters.ModelChoiceFilter(field_name=field_name, queryset=RebateProgram.objects.order_by("name"),
                                            to_field_name="code", help_text="Program code.")


@extend_schema_field(OpenApiTypes.STR)
class ProductLineFilter(django_filters.ModelChoiceFilter):
    """A product line named by its code (the schema says a string: the lists' models have no such field)."""


def _line_filter(method):
    return ProductLineFilter(queryset=ProductLine.objects.order_by("name"), to_field_name="code",
                             method=method, label="Product line", help_text="Product line code.")


class AgreementFilterSet(django_filters.FilterSet):
    q = SearchFilter(fields=("number", "customer__code", "customer__name"),
                     help_text="Words found in the number or the customer's code or name.")
    customer = django_filters.CharFilter(field_name="customer__code", help_text="Customer ERP code.")
    program = _program_filter("program")
    status = django_filters.ChoiceFilter(choices=RebateAgreement.Status.choices)
    manager = ManagerFilter(field_name="customer__account_manager")
    product_line = _line_filter("filter_product_line")
    month = MonthFilter(method="filter_month", label="In force in", help_text="YYYY-MM: the term covers this month.")

    class Meta:
        model = RebateAgreement
        fields = ["q", "customer", "program", "status", "manager", "product_line", "month"]

    def filter_product_line(self, queryset, name, value):
        return queryset.filter(pk__in=agreements_covering_line(value)) if value else queryset

    def filter_month(self, queryset, name, value):
        return queryset.filter(start_month__lte=value, end_month__gte=value) if value else queryset


SETTLEMENT_WAITING = "waiting"


class SettlementFilterSet(django_filters.FilterSet):
    q = SearchFilter(fields=("agreement__number", "agreement__customer__code", "agreement__customer__name"),
                     help_text="Words found in the agreement number or the customer's code or name.")
    customer = django_filters.CharFilter(field_name="agreement__customer__code", help_text="Customer ERP code.")
    agreement = django_filters.CharFilter(field_name="agreement__number", help_text="Agreement number.")
    status = django_filters.ChoiceFilter(
        choices=[(SETTLEMENT_WAITING, "Waiting (not yet paid)"), *Settlement.Status.choices],
        method="filter_status", help_text="A status, or waiting: draft, awaiting second approval or approved.")
    program = _program_filter("agreement__program")
    manager = ManagerFilter(field_name="agreement__customer__account_manager")
    product_line = _line_filter("filter_product_line")
    month_from = MonthFilter(field_name="period_end", lookup_expr="gte", label="Period from",
                             help_text="YYYY-MM: periods ending in or after this month.")
    month_to = MonthFilter(field_name="period_start", lookup_expr="lte", label="Period to",
                           help_text="YYYY-MM: periods starting in or before this month.")
    amount_min = django_filters.NumberFilter(field_name="amount", lookup_expr="gte", label="Amount from",
                                             help_text="Settlements paying at least this much.")
    amount_max = django_filters.NumberFilter(field_name="amount", lookup_expr="lte", label="Amount to",
                                             help_text="Settlements paying at most this much.")

    class Meta:
        model = Settlement
        fields = ["q", "customer", "agreement", "status", "program", "manager", "product_line", "month_from",
                  "month_to", "amount_min", "amount_max"]

    def filter_status(self, queryset, name, value):
        if value == SETTLEMENT_WAITING:
            return queryset.filter(status__in=(Settlement.Status.DRAFT, Settlement.Status.APPROVING,
                                               Settlement.Status.APPROVED))
        return queryset.filter(status=value) if value else queryset

    def filter_product_line(self, queryset, name, value):
        return queryset.filter(agreement__in=agreements_covering_line(value)) if value else queryset


class AccrualRunFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AccrualRun.Status.choices)
    trigger = django_filters.ChoiceFilter(choices=AccrualRun.Trigger.choices, label="Started by")
    month_from = MonthFilter(field_name="as_of", lookup_expr="gte", label="As of from", help_text="YYYY-MM.")
    month_to = MonthFilter(method="filter_month_to", label="As of to", help_text="YYYY-MM, inclusive.")

    class Meta:
        model = AccrualRun
        fields = ["status", "trigger", "month_from", "month_to"]

    def filter_month_to(self, queryset, name, value):
        return queryset.filter(as_of__lt=add_months(value, 1)) if value else queryset



class ImportBatchFilterSet(django_filters.FilterSet):
    q = SearchFilter(fields=("file_name",), help_text="Words found in the file's name.")
    status = django_filters.ChoiceFilter(choices=ImportBatch.Status.choices)

    class Meta:
        model = ImportBatch
        fields = ["q", "status"]


class ExportJobFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ExportJob.Kind.choices, label="Report")
    format = django_filters.ChoiceFilter(choices=ExportJob.Format.choices)
    status = django_filters.ChoiceFilter(choices=ExportJob.Status.choices)

    class Meta:
        model = ExportJob
        fields = ["kind", "format", "status"]
