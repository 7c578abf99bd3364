"""Query parameters are checked as strictly as bodies: a filter sent empty is refused, not ignored."""

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

EMPTY = "Leave the parameter out rather than send it empty."


def refuse_empty(params, names) -> None:
    empty = {name: [EMPTY] for name in names if params.get(name, None) == ""}
    if empty:
        raise ValidationError(empty)


class FilterBackend(DjangoFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None:
            refuse_empty(request.query_params, filterset_class.base_filters)
        return super().filter_queryset(request, queryset, view)


class QueryParams(serializers.Serializer):
    """A serializer of query parameters: one sent empty is refused like any other bad value."""

    def run_validation(self, data=serializers.empty):
        if data is not serializers.empty:
            refuse_empty(data, self.fields)
        return super().run_validation(data)
