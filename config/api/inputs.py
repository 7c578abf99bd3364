"""Request bodies name only fields the endpoint takes: an unknown field is a 400 naming it, never ignored.

A field an answer shows but a write does not take (a created_at, the code in the URL) may be sent back only
where the input serializer lists it in `read_only_echoes`: the schema lists those as `readOnly` on the
request, and their value is ignored. Every other request body is `additionalProperties: false`.
"""

from collections.abc import Mapping

from rest_framework import serializers

UNKNOWN = "Unknown field: this endpoint does not take it."


# The base of every input serializer (bodies and their nested objects). A comment, not a docstring: the
# schema would show a docstring as the description of every request body without one of its own.
class StrictInput(serializers.Serializer):
    # Fields of the answer a client may echo back unchanged (GET, change, PUT); ignored when sent.
    read_only_echoes: tuple[str, ...] = ()

    def to_internal_value(self, data):
        unknown = {}
        if isinstance(data, Mapping):
            taken = {name for name, field in self.fields.items() if not field.read_only}
            unknown = {str(key): [UNKNOWN] for key in data
                       if key not in taken and key not in self.read_only_echoes}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if unknown and isinstance(error.detail, dict):
                raise serializers.ValidationError({**error.detail, **unknown}) from error
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value


# A write that takes no fields: an empty object (or no body) only.
class NoBody(StrictInput):
    pass
