"""OpenAPI pieces shared by the endpoints: the error body and the responses that use it."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every non-validation error: a human message and a stable machine-readable code."""

    detail = serializers.CharField()
    code = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    """A 400: each offending field (or `non_field_errors`) with its messages."""

    field_name = serializers.ListField(child=serializers.CharField(), required=False)


def error(description: str, code: str, detail: str) -> OpenApiResponse:
    """Return a documented error response with one example."""
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(code, value={"detail": detail, "code": code})],
    )


BAD_REQUEST = OpenApiResponse(
    ValidationErrorSerializer,
    description="Invalid input: field errors.",
    examples=[OpenApiExample("invalid", value={"title": ["This field may not be blank."]})],
)
UNAUTHENTICATED = error(
    "Missing, invalid, expired or revoked access token (see WWW-Authenticate).",
    "token_expired",
    "Token has expired.",
)
FORBIDDEN = error(
    "Visible, but not yours to change.", "not_author", "Only the author can change this post."
)
NOT_FOUND = error("No such row visible to the caller.", "not_found", "Not found.")
PRECONDITION_FAILED = error(
    "If-Match does not match the current ETag: someone changed it since you read it.",
    "precondition_failed",
    "The resource changed since you read it (If-Match does not match its ETag).",
)
DATABASE_UNAVAILABLE = error(
    "The database is unreachable; retry after Retry-After seconds.",
    "database_unavailable",
    "The database is unavailable; try again shortly.",
)
TOO_LARGE = error("Request body too large.", "request_too_large", "Request body too large.")
THROTTLED = error(
    "Too many requests; retry after Retry-After seconds.",
    "throttled",
    "Request was throttled. Expected available in 12 seconds.",
)
