"""Liveness and readiness endpoints for load balancers and orchestrators."""

import logging

from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

HEALTHY = {"status": "healthy"}


@csrf_exempt  # only GET/HEAD are served; other methods get 405, not a CSRF page
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """Answer as long as the process serves requests; touches nothing else."""
    return JsonResponse(HEALTHY)


@csrf_exempt
@require_safe
def ready(request: HttpRequest) -> JsonResponse:
    """Answer 200 only when the database answers too, 503 otherwise."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("select 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("Readiness check failed: database unavailable (%s).", type(exc).__name__)
        return JsonResponse(
            {"status": "unavailable", "checks": {"database": "unavailable"}}, status=503
        )
    return JsonResponse({"status": "ready", "checks": {"database": "ok"}})
