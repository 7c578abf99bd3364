"""The API's one error shape, for every status it answers with:

    {"status": 400, "code": "invalid", "message": "plain words", "details": [{"field": "...", "message": "..."}]}

`details` names each bad field (and, for purchase lines, each bad line); it is empty when there is nothing
more to say. The database going away answers 503 in the same shape; nothing answers a stack trace.
"""

import logging
import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response

from config.constraints import constraint_problem

logger = logging.getLogger("config.api")

# Seconds a client waits before trying again when the database is unavailable.
RETRY_AFTER_UNAVAILABLE = 5

DATABASE_ERRORS = (OperationalError, InterfaceError)


class ApiError(exceptions.APIException):
    """An answer in the error shape with a status, a code and details of our choosing."""

    def __init__(self, message, *, status_code=400, code="invalid", details=None):
        self.status_code = status_code
        self.code = code
        self.details = details or []
        super().__init__(message, code)


class Conflict(ApiError):
    def __init__(self, message, *, details=None):
        super().__init__(message, status_code=status.HTTP_409_CONFLICT, code="conflict", details=details)


class Unprocessable(ApiError):
    def __init__(self, message, *, code="unprocessable", details=None):
        super().__init__(message, status_code=status.HTTP_422_UNPROCESSABLE_ENTITY, code=code, details=details)


class Replay(Exception):
    """A stored answer to send again as it was (an idempotent resend)."""

    def __init__(self, response):
        self.response = response


def printable(text: str) -> str:
    """`text` as UTF-8 can carry it: a lone surrogate (sent as a JSON escape) is shown as its escape, so an
    answer that echoes the input always renders."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_body(status_code: int, code: str, message: str, details=None) -> dict:
    details = [{key: printable(value) if isinstance(value, str) else value for key, value in detail.items()}
               for detail in details or []]
    return {"status": status_code, "code": code, "message": printable(str(message)), "details": details}


def field_details(detail, prefix="") -> list[dict]:
    """DRF's nested validation errors flattened to [{"field": "rule.bands.0.rate", "message": ...}]."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key in ("non_field_errors", "__all__"):
                name = prefix
            found.extend(field_details(value, name))
        return found
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [{"field": prefix, "message": str(item)} for item in detail]
        found = []
        for index, item in enumerate(detail):
            found.extend(field_details(item, f"{prefix}.{index}" if prefix else str(index)))
        return found
    return [{"field": prefix, "message": str(detail)}]


_CODES = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "throttled",
    500: "server_error",
    503: "unavailable",
}


def exception_handler(exc, context):
    """DRF's exception handler: every error in the one shape."""
    if isinstance(exc, Replay):
        return exc.response
    headers = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, RequestDataTooBig):
        exc = ApiError(body_too_large_message(), status_code=413, code="too_large",
                       details=[{"field": "body", "message": body_too_large_message()}])
    if isinstance(exc, IntegrityError):
        exc = constraint_refusal(exc)
    if isinstance(exc, UnicodeEncodeError):
        # Text the database cannot hold (a lone surrogate sent as a JSON escape): nothing was stored.
        exc = exceptions.ValidationError("Text must be valid Unicode.")
    if isinstance(exc, DATABASE_ERRORS):
        logger.warning("database unavailable: %s", exc)
        body = unavailable_body()
        return Response(body, status=503, headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)})
    if not isinstance(exc, exceptions.APIException):
        logger.error("unexpected error in the API", exc_info=exc)
        return Response(error_body(500, "server_error", "Something went wrong on our side; nothing is shown here."),
                        status=500)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(int(exc.wait) + 1)
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    status_code = exc.status_code
    if isinstance(exc, ApiError):
        body = error_body(status_code, exc.code, exc.detail, exc.details)
    elif isinstance(exc, exceptions.ValidationError):
        details = field_details(exc.detail)
        body = error_body(400, "invalid", _summary(details), details)
    else:
        body = error_body(status_code, _CODES.get(status_code, "error"), exc.detail)
    return Response(body, status=status_code, headers=headers)


def constraint_refusal(exc: IntegrityError) -> ApiError:
    """A constraint the database refused (two requests racing for one number, say), named by its fields in
    plain words (config/constraints.py), never by the constraint's name; nothing was stored."""
    name = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
    problem = constraint_problem(name)
    if problem is None:
        logger.error("integrity error without a known constraint", exc_info=exc)
        return Conflict("The request conflicts with data already stored; nothing was changed.")
    fields, message = problem
    return ApiError(_summary([{"field": field, "message": message} for field in fields]),
                    details=[{"field": field, "message": message} for field in fields])


def _summary(details) -> str:
    if len(details) == 1:
        field = details[0]["field"]
        return f"{field}: {details[0]['message']}" if field else details[0]["message"]
    return f"{len(details)} problems in the request; each is named in details."


def body_too_large_message() -> str:
    return (f"The body is larger than {settings.API_MAX_BODY_BYTES:,} bytes, the most one request may send; "
            f"nothing was read or stored. Send fewer lines per request.")


def unavailable_body() -> dict:
    return error_body(503, "unavailable", "The database is unavailable; nothing was changed. Try again shortly.")


def is_api_path(request) -> bool:
    return request.path.startswith("/api/")


# Django's own error views: answers for API paths that never reach a DRF view (an unknown URL, a failure
# in a middleware) in the same shape; other paths keep Django's pages.


def page_not_found(request, exception=None):
    if is_api_path(request):
        return JsonResponse(error_body(404, "not_found", "Not found."), status=404)
    from django.views.defaults import page_not_found as default

    return default(request, exception)


def server_error(request):
    if is_api_path(request):
        exc = sys.exc_info()[1]
        if isinstance(exc, DATABASE_ERRORS):
            response = JsonResponse(unavailable_body(), status=503)
            response["Retry-After"] = str(RETRY_AFTER_UNAVAILABLE)
            return response
        return JsonResponse(error_body(500, "server_error", "Something went wrong on our side; nothing is shown here."),
                            status=500)
    from django.views.defaults import server_error as default

    return default(request)


def permission_denied(request, exception=None):
    if is_api_path(request):
        return JsonResponse(error_body(403, "permission_denied", "You do not have permission to do this."),
                            status=403)
    from django.views.defaults import permission_denied as default

    return default(request, exception)


def bad_request(request, exception=None):
    if is_api_path(request):
        return JsonResponse(error_body(400, "invalid", "Bad request."), status=400)
    from django.views.defaults import bad_request as default

    return default(request, exception)
