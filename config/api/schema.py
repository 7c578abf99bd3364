"""OpenAPI: every operation documents the error answers it can give, in the one error shape, with an
example each, and the Idempotency-Key header on writes."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from config.api.idempotency import HEADER, KEY_PATTERN
from config.api.inputs import StrictInput

WRITES = ("POST", "PUT", "PATCH")


class ErrorDetailSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="The field (dotted path) the problem is about; empty for the request.")
    message = serializers.CharField()
    line = serializers.IntegerField(required=False, help_text="Purchase lines: the 0-based index of the bad line.")
    erp_line_id = serializers.CharField(required=False, allow_null=True, help_text="Purchase lines: its id.")


class ErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField()
    code = serializers.CharField()
    message = serializers.CharField()
    details = ErrorDetailSerializer(many=True)


def _example(status, code, message, details=None, name=None):
    return OpenApiExample(name or code, value={"status": status, "code": code, "message": message,
                                               "details": details or []}, response_only=True,
                          status_codes=[str(status)])


ERRORS = {
    400: ("The request is not valid; details names each bad field.",
          _example(400, "invalid", "quantity: At most 3 decimal places.",
                   [{"field": "quantity", "message": "At most 3 decimal places."}])),
    401: ("No credentials, or a wrong token.",
          _example(401, "not_authenticated", "Authentication credentials were not provided.")),
    403: ("Your role may not do this.",
          _example(403, "permission_denied", "You do not have permission to perform this action.")),
    404: ("Not found, or not one of yours.", _example(404, "not_found", "No RebateAgreement matches the given query.")),
    409: ("In conflict with the current state (already paid, or the same Idempotency-Key still in flight).",
          _example(409, "conflict", "A request with this Idempotency-Key is still in flight; send it again once it "
                                    "is answered.")),
    422: ("The Idempotency-Key was already used with another request.",
          _example(422, "idempotency_key_reused", "This Idempotency-Key was already used with another request "
                                                  "(method, path or body); use a new key for a new request.")),
    413: ("The body is larger than the most one request may send (API_MAX_BODY_BYTES, 8 MiB by default); nothing "
          "was read.",
          _example(413, "too_large", "The body is larger than 8,388,608 bytes, the most one request may send; nothing "
                                     "was read or stored. Send fewer lines per request.",
                   [{"field": "body", "message": "The body is larger than 8,388,608 bytes, the most one request may "
                                                 "send; nothing was read or stored. Send fewer lines per request."}])),
    429: ("Too many requests; Retry-After says when to try again.",
          _example(429, "throttled", "Request was throttled. Expected available in 12 seconds.")),
    503: ("The database is unavailable; nothing was changed. Retry-After says when to try again.",
          _example(503, "unavailable", "The database is unavailable; nothing was changed. Try again shortly.")),
}


class ApiAutoSchema(AutoSchema):
    def _postprocess_serializer_schema(self, schema, serializer, direction):
        # A request body takes only its fields (config/api/inputs.py): unknown ones are refused, and the fields
        # of the answer a client may send back are listed as read-only (after the split request component has
        # dropped the read-only fields of the serializer itself).
        schema = super()._postprocess_serializer_schema(schema, serializer, direction)
        if direction == "request" and isinstance(serializer, StrictInput):
            schema["additionalProperties"] = False
            for name in serializer.read_only_echoes:
                schema.setdefault("properties", {})[name] = {
                    "readOnly": True, "description": "Shown in answers; sent back, it is ignored."}
        return schema

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method in WRITES:
            parameters.append(OpenApiParameter(
                HEADER, {"type": "string", "pattern": KEY_PATTERN}, OpenApiParameter.HEADER, required=False,
                description="A unique string of visible ASCII characters (a UUID, say), at most 255. A resend "
                            "with the same key "
                            "and body within 24 hours gets the first answer and changes nothing; the same key "
                            "with another body gets 422 (409 while the first is still in flight).",
            ))
        return parameters

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        takes_query = any(parameter.get("in") == "query" for parameter in operation.get("parameters", []))
        statuses = {401, 403, 429, 503}
        if self.method in WRITES or takes_query or "{" in self.path:
            # A bad field, query parameter or path (a NUL character in any of them, say).
            statuses.add(400)
        if "{" in self.path or (self.method == "GET" and self._is_list_view()):
            # A row you may not see, or a page past the last one.
            statuses.add(404)
        if self.method in WRITES:
            statuses |= {409, 413, 422}
        responses = operation.setdefault("responses", {})
        for status in sorted(statuses):
            if str(status) not in responses:
                description, example = ERRORS[status]
                responses[str(status)] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=description, examples=[example]), str(status))
        return operation
