"""OpenAPI pieces shared by the endpoints: the error bodies and the responses that use them."""

from collections.abc import Iterator

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
)
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """Every error but invalid input: a message to show and a stable code to branch on."""

    detail = serializers.CharField(help_text="A message for people; it may change.")
    code = serializers.CharField(help_text="A stable code for programs, e.g. `token_expired`.")
    reasons = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text="With code `weak_password` only: why Supabase Auth refused the password.",
    )


class ValidationErrorSerializer(serializers.Serializer):
    """Invalid input: each offending field (or `non_field_errors`) with its messages."""


class ValidationErrorSchema(OpenApiSerializerExtension):
    """Describe a 400 as DRF writes it: field names are the keys, so none is a fixed property."""

    target_class = ValidationErrorSerializer

    def map_serializer(self, auto_schema, direction) -> dict:
        return {
            "type": "object",
            "description": ValidationErrorSerializer.__doc__,
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        }


def error(description: str, *examples: tuple[str, str]) -> OpenApiResponse:
    """Return a documented error response with one example per (code, detail)."""
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[
            OpenApiExample(code, value={"detail": detail, "code": code})
            for code, detail in examples
        ],
    )


# A 400 is a field map when the input fails validation, and `{detail, code}` when the body
# cannot be parsed at all (malformed JSON, a corrupt image): clients get one of the two.
BAD_REQUEST = OpenApiResponse(
    PolymorphicProxySerializer(
        component_name="BadRequest",
        serializers=[ErrorSerializer, ValidationErrorSerializer],
        resource_type_field_name=None,
    ),
    description="Invalid input: field errors, or a body that cannot be parsed.",
    examples=[
        OpenApiExample("invalid", value={"title": ["This field may not be blank."]}),
        OpenApiExample(
            "parse_error",
            value={"detail": "JSON parse error - Expecting value", "code": "parse_error"},
        ),
    ],
)
UNAUTHENTICATED = error(
    "Missing, invalid, expired or revoked access token (see WWW-Authenticate). A public "
    "operation answers this too when a token is sent and refused: send none to read anonymously.",
    ("token_expired", "Token has expired."),
    ("not_authenticated", "Authentication credentials were not provided."),
)
ANONYMOUS_SIGN_IN_REFUSED = ("anonymous_sign_in", "Sign in with a permanent account to do this.")
ANONYMOUS_SIGN_IN = error(
    "Users of Supabase's anonymous sign-in may read, not write (API_ANONYMOUS_SIGN_IN_WRITES).",
    ANONYMOUS_SIGN_IN_REFUSED,
)
FORBIDDEN = error(
    "Visible, but not yours to change; or the caller is an anonymous sign-in.",
    ("not_author", "Only the author can change this post."),
    ANONYMOUS_SIGN_IN_REFUSED,
)
NOT_FOUND = error("No such row visible to the caller.", ("not_found", "Not found."))
NOT_MODIFIED = OpenApiResponse(
    description="Not modified: If-None-Match names the current ETag (no body; use your copy)."
)
PRECONDITION_FAILED = error(
    "If-Match does not match the current ETag: someone changed it since you read it.",
    (
        "precondition_failed",
        "The resource changed since you read it (If-Match does not match its ETag).",
    ),
)
TOO_LARGE = error(
    "Request body too large.", ("request_too_large", "Request body too large (limit 262144 bytes).")
)
UNSUPPORTED_MEDIA_TYPE = error(
    "The body is not JSON (send Content-Type: application/json).",
    ("unsupported_media_type", 'Unsupported media type "text/plain" in request.'),
)
NOT_ACCEPTABLE = error(
    "The Accept header names no type this API answers in (it answers application/json).",
    ("not_acceptable", "Could not satisfy the request Accept header."),
)
THROTTLED = error(
    "Too many requests; retry after Retry-After seconds.",
    ("throttled", "Request was throttled. Expected available in 12 seconds."),
)
DATABASE_DOWN = ("database_unavailable", "The database is unavailable; try again shortly.")
AUTH_DOWN = ("auth_unavailable", "Authentication is unavailable; try again shortly.")
STORAGE_DOWN = ("storage_unavailable", "Avatar storage is unavailable; try again shortly.")
UNAVAILABLE = error(
    "The database, or the signing keys a token needs, cannot be reached; retry after "
    "Retry-After seconds.",
    DATABASE_DOWN,
    AUTH_DOWN,
)

# Every operation that takes a token and reads the database can be refused the token, be
# throttled (API_THROTTLE_ANON, API_THROTTLE_USER) and meet an outage; every one answers JSON.
GUARDED = {401: UNAUTHENTICATED, 406: NOT_ACCEPTABLE, 429: THROTTLED, 503: UNAVAILABLE}
# Every operation with a JSON body: invalid, too large (API_MAX_BODY_BYTES) or not JSON.
JSON_BODY = {400: BAD_REQUEST, 413: TOO_LARGE, 415: UNSUPPORTED_MEDIA_TYPE}

IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="The ETag of the copy you hold; if it is still current the answer is 304, "
    "without a body.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description="The ETag you last read; if the resource changed since, the write is refused "
    "with 412 instead of overwriting the other change.",
)
ETAG = OpenApiParameter(
    "ETag",
    str,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description="Version of the returned resource; send it back as If-Match when changing it.",
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[429, 503],
    description="Seconds to wait before trying again.",
)
WWW_AUTHENTICATE = OpenApiParameter(
    "WWW-Authenticate",
    str,
    OpenApiParameter.HEADER,
    response=[401],
    description='The challenge (RFC 6750 §3): `Bearer realm="api"`, with '
    '`error="invalid_token"` when a token was sent and refused.',
)
RESPONSE_HEADERS = [RETRY_AFTER, WWW_AUTHENTICATE]


def require_success_fields(result: dict, generator, request, public) -> dict:
    """Mark every property of a success body required (a drf-spectacular postprocessing hook).

    DRF renders every readable field of an instance, null when empty, so a field a request may
    leave out (`content`, `published`, `name`) is always in the response; drf-spectacular
    marks it optional all the same, and generated clients then type it "maybe unset". Error
    bodies keep their serializers' own `required` (only a weak password carries `reasons`).
    """
    schemas = result.get("components", {}).get("schemas", {})
    pending = [
        ref
        for item in result["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
        for status, response in operation.get("responses", {}).items()
        if status.startswith("2")
        for ref in _refs(response)
    ]
    done = set()
    while pending:
        name = pending.pop().rsplit("/", 1)[-1]
        if name in done or name not in schemas:
            continue
        done.add(name)
        component = schemas[name]
        if component.get("properties"):
            component["required"] = sorted(component["properties"])
        pending.extend(_refs(component))
    return result


def _refs(node) -> Iterator[str]:
    """Yield every `$ref` inside a piece of the schema."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)
