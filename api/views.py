"""JSON answers for what no API view handles: unknown paths and server errors."""

import logging

from django.http import HttpRequest, JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


@csrf_exempt  # a POST to an unknown path is a 404, not a CSRF failure: no cookies are used here
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Answer any unknown path under /api/ (any method) with a JSON 404."""
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


def server_error(request: HttpRequest):
    """Answer a crash with JSON under /api/ (Django's HTML page elsewhere); never leak details."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse(
            {"detail": "Internal server error.", "code": "server_error"}, status=500
        )
    return defaults.server_error(request)
