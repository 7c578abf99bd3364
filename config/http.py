"""Answers every page shares."""

from django.http import HttpResponseNotAllowed


def wrong_method(request, *allowed):
    """405 for a method the page does not take; called after the object is found, so another manager's
    object is a 404 whatever the method."""
    if request.method in allowed or (request.method == "HEAD" and "GET" in allowed):
        return None
    return HttpResponseNotAllowed(allowed)
