"""The customers list's filters, shared by the customers page and `GET /api/v1/customers/`."""

import django_filters

from config.filtersets import ManagerFilter, SearchFilter
from customers.models import Customer, Segment


class CustomerFilterSet(django_filters.FilterSet):
    q = SearchFilter(fields=("code", "name"), help_text="Words found in the code or the name.")
    status = django_filters.ChoiceFilter(choices=Customer.Status.choices)
    value_tier = django_filters.ChoiceFilter(choices=Customer.ValueTier.choices, label="Value tier")
    segment = django_filters.ModelChoiceFilter(queryset=Segment.objects.order_by("name"), to_field_name="code",
                                               help_text="Segment code.")
    manager = ManagerFilter(field_name="account_manager")

    class Meta:
        model = Customer
        fields = ["q", "status", "value_tier", "segment", "manager"]
