"""The API's error bodies: `{"detail": ..., "code": ...}`; 400s keep DRF's field map."""

import logging

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.db import DataError, InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from api import errors

logger = logging.getLogger(__name__)

# Seconds a client should wait before retrying when the database is unreachable.
DATABASE_RETRY_AFTER = 5
FORM_LIMIT_DETAIL = "Too many fields or files in the form, or a field too large."
# The status of each kind of failure raised below the views (api/errors.py).
SERVICE_ERROR_STATUS = {
    errors.InvalidInput: 400,
    errors.Refused: 401,
    errors.Forbidden: 403,
    errors.TooLarge: 413,
    errors.Gone: 410,
    errors.UnsupportedType: 415,
    errors.Unprocessable: 422,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Return DRF's response, with a stable machine-readable `code` next to `detail`."""
    if isinstance(exc, errors.ServiceError):
        return _service_error_response(exc)
    if isinstance(exc, OperationalError | InterfaceError):
        # Connection refused, server restarting, connection dropped: nothing is acknowledged
        # to the client, and Django drops the broken connection after the request.
        logger.warning("Database unavailable: %s", type(exc).__name__)
        return Response(
            {
                "detail": "The database is unavailable; try again shortly.",
                "code": "database_unavailable",
            },
            status=503,
            headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
        )
    if isinstance(exc, DataError) and getattr(exc.__cause__, "sqlstate", None):
        # A value Postgres refuses (out of range, malformed) that validation let through: the
        # client's input, so a 400, never a 500. Logged, as it means a validator is missing.
        # A DataError without a SQLSTATE is psycopg failing to load a stored value: the
        # server's problem, left to Django's logged 500 rather than blamed on the client.
        logger.warning("Database refused a value: %s", exc)
        exc = exceptions.ValidationError({"non_field_errors": ["A value is out of range."]})
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent | RequestDataTooBig):
        # Django's limits on form bodies (DATA_UPLOAD_MAX_*): the client sent too much, which
        # Django's own handler would log at ERROR as a security event and answer in HTML.
        exc = exceptions.ParseError(FORM_LIMIT_DETAIL, code="form_too_large")
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


def service_error_status(exc: errors.ServiceError) -> int:
    """Return the HTTP status of a failure raised below the views (500 for an unknown kind)."""
    return next(
        (SERVICE_ERROR_STATUS[k] for k in type(exc).__mro__ if k in SERVICE_ERROR_STATUS), 500
    )


def _service_error_response(exc: errors.ServiceError) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    body = {"detail": exc.message, "code": exc.code, **exc.extra}
    return Response(body, status=service_error_status(exc), headers=headers)
