"""One JSON line per request (operations.requests): its request id, method, endpoint (the URL's name, never
its arguments), status, outcome, duration and the user's id; the same counts feed /metrics."""

import logging

from django.core.signals import request_finished
from django.db import DatabaseError

from config import clock
from operations import context, metrics

logger = logging.getLogger("operations.requests")


def outcome(status: int) -> str:
    if status >= 500:
        return "error"
    if status >= 400:
        return "refused"
    return "ok"


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = context.request_id_from(request.headers.get("X-Request-ID"))
        context.clear()
        context.bind(request_id=request_id)
        began = clock.seconds()
        try:
            response = self.get_response(request)
            seconds = clock.seconds() - began
            match = getattr(request, "resolver_match", None)
            endpoint = (match.view_name if match is not None else "") or "unrouted"
            user_id = _user_id(request)
            metrics.request_observe(endpoint=endpoint, method=request.method, status=response.status_code,
                                    seconds=seconds)
            logger.info("request", extra={
                "method": request.method, "endpoint": endpoint, "status": response.status_code,
                "outcome": outcome(response.status_code), "duration_ms": round(seconds * 1000, 1),
                "user_id": user_id})
            response["X-Request-ID"] = request_id
            return response
        except BaseException:
            context.clear()
            raise

    def process_view(self, request, view_func, view_args, view_kwargs):
        # Signed in by session: the user's id goes on every line and into the tasks this request queues.
        context.bind(user_id=_user_id(request))


def _user_id(request):
    user = getattr(request, "user", None)
    try:
        return user.pk if user is not None and user.is_authenticated else None
    except DatabaseError:  # the session could not be read: the answer says so already
        return None


def _request_finished(**kwargs):
    # After Django's own lines about the answer (django.request), which carry the request id too.
    context.clear()


request_finished.connect(_request_finished, dispatch_uid="operations.request_finished")
