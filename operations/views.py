"""Health (no sign-in, no data: only ok or not per check), metrics (allowed networks or a token) and the
operations page (administrators only)."""

import hmac
import ipaddress

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from config.http import wrong_method
from operations import health, metrics
from operations.selectors import operations_overview


@never_cache
def health_live(request):
    """The process answers."""
    return wrong_method(request, "GET") or JsonResponse({"status": "ok"})


@never_cache
def health_ready(request):
    """The database answers, its migrations are applied, the broker answers and a worker was seen: 200, else
    503; each check's name with ok or failing, nothing else."""
    refused = wrong_method(request, "GET")
    if refused:
        return refused
    checks = health.readiness()
    ready = all(checks.values())
    return JsonResponse({"status": "ok" if ready else "unready",
                         "checks": {name: "ok" if ok else "failing" for name, ok in checks.items()}},
                        status=200 if ready else 503)


def metrics_allowed(request) -> bool:
    """From an address in METRICS_ALLOWED_NETWORKS, or with `Authorization: Bearer <METRICS_TOKEN>`."""
    token = settings.METRICS_TOKEN
    offered = request.headers.get("Authorization", "")
    if token and offered.startswith("Bearer ") and hmac.compare_digest(offered[7:].encode(), token.encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_NETWORKS)


@never_cache
def metrics_page(request):
    refused = wrong_method(request, "GET")
    if refused:
        return refused
    if not metrics_allowed(request):
        return HttpResponseForbidden("Metrics are served to the allowed networks or with the metrics token.",
                                     content_type="text/plain")
    return HttpResponse(metrics.render(), content_type=metrics.CONTENT_TYPE)


@login_required
def operations_page(request):
    if not (request.user.is_staff or request.user.is_superuser):
        raise PermissionDenied("The operations page is for administrators.")
    refused = wrong_method(request, "GET")
    if refused:
        return refused
    return render(request, "operations/page.html", operations_overview())
