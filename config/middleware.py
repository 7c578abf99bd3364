"""Checks on every request before any view reads it.

- A NUL character in the path or the query string answers 400 (no code, page or filter holds one; the
  database refuses them): in the API's error shape naming `path` or the query parameter on API paths,
  Django's 400 page elsewhere.
- An API request body larger than API_MAX_BODY_BYTES answers 413 in the API's error shape. The limit is
  checked from Content-Length first, then while the body is read (in chunks, counted), so a body over the
  limit is never read whole, let alone parsed. Pages keep Django's own limits (DATA_UPLOAD_MAX_MEMORY_SIZE
  for forms; uploaded files go to disk), so a purchase file can still be uploaded on /imports/.
- An unknown path under /api/ answers 404 in the API's error shape under any settings: with DEBUG on,
  Django answers an unknown URL with its HTML page and never calls handler404, so the answer is replaced
  here (after CommonMiddleware, so "/api/v1/customers" is still redirected to "/api/v1/customers/").
"""

from io import BytesIO

from django.conf import settings
from django.http import JsonResponse
from django.views.defaults import bad_request

from config.api.errors import body_too_large_message, error_body, is_api_path, page_not_found, printable

READ_CHUNK = 64 * 1024


class RequestChecksMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refused = _nul_refusal(request)
        if refused is None and is_api_path(request):
            refused = _body_refusal(request)
        if refused is not None:
            return refused
        response = self.get_response(request)
        if response.status_code == 404 and is_api_path(request) and not _is_json(response):
            return page_not_found(request)
        return response


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


def _nul_refusal(request):
    if "\x00" in request.path:
        return _bad_request(request, "path", "The path must not contain NUL characters.")
    for name, values in request.GET.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return _bad_request(request, printable(name.replace("\x00", "\\x00")),
                                "A query parameter must not contain NUL characters.")
    return None


def _bad_request(request, field, message):
    if is_api_path(request):
        return JsonResponse(error_body(400, "invalid", f"{field}: {message}", [{"field": field, "message": message}]),
                            status=400)
    return bad_request(request, exception=None)


def _too_large():
    message = body_too_large_message()
    return JsonResponse(error_body(413, "too_large", message, [{"field": "body", "message": message}]), status=413)


def _body_refusal(request):
    limit = settings.API_MAX_BODY_BYTES
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return JsonResponse(error_body(400, "invalid", "Content-Length must be a number of bytes.",
                                       [{"field": "Content-Length", "message": "A number of bytes."}]), status=400)
    if declared > limit:
        return _too_large()
    if declared <= 0:
        return None
    # Read here, counting, and keep what was read as the body the views and the idempotency digest see.
    chunks, size = [], 0
    while chunk := request.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            return _too_large()
        chunks.append(chunk)
    request._body = b"".join(chunks)
    request._stream = BytesIO(request._body)
    return None
