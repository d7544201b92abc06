"""The API's error bodies: `{"detail": ..., "code": ...}`; 400s keep DRF's field map."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Return DRF's response, with a stable machine-readable `code` next to `detail`."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or isinstance(exc, exceptions.ValidationError):
        return response  # 400s stay `{"field": ["message", ...]}`, as DRF clients expect
    codes = exc.get_codes()
    response.data = {
        "detail": str(exc.detail),
        "code": codes if isinstance(codes, str) else exc.default_code,
    }
    return response
