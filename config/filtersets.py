"""What every list's filterset shares (django-filter): a month as YYYY-MM, a search box, an account manager by
username. Each app keeps one FilterSet per list in its `filtersets.py`, used by its page and, where the API has
that list, by the API view (`filterset_class`), so both filter alike (as NetBox does)."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from drf_spectacular.utils import extend_schema_field

from config.api.fields import MONTH_PATTERN, parse_month
from config.validators import MONTH_RULE

SEARCH_MAX_LENGTH = 100


class MonthFormField(forms.CharField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("help_text", "YYYY-MM")
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}))
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
    """A month (YYYY-MM) compared with a month field, or with a day field through `lookup_expr`."""

    field_class = MonthFormField


class SearchFilter(django_filters.CharFilter):
    """The list's search box: each word must appear (case-insensitive) in one of `fields`."""

    def __init__(self, *args, fields=(), **kwargs):
        self.search_fields = tuple(fields)
        kwargs.setdefault("label", "Search")
        kwargs.setdefault("max_length", SEARCH_MAX_LENGTH)
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "search"}))
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        for word in (value or "").split():
            match = Q()
            for field in self.search_fields:
                match |= Q(**{f"{field}__icontains": word})
            qs = qs.filter(match)
        return qs


def account_managers():
    """Users who manage at least one customer, by username: the choices of a list's manager filter."""
    from customers.models import Customer  # config is imported by every app; the model only when asked

    return (get_user_model().objects.filter(pk__in=Customer.objects.values("account_manager"))
            .order_by("first_name", "last_name", "username"))


class ManagerChoiceField(django_filters.fields.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.username


class ManagerFilter(django_filters.ModelChoiceFilter):
    """An account manager by username; `field_name` is the path to the customer's account_manager."""

    field_class = ManagerChoiceField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("queryset", lambda request: account_managers())
        kwargs.setdefault("to_field_name", "username")
        kwargs.setdefault("label", "Account manager")
        kwargs.setdefault("help_text", "Account manager's username.")
        super().__init__(*args, **kwargs)
