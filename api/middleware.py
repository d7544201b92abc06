"""Request hygiene before any view reads the body, and caching rules on every API response."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware import http
from django.utils.cache import patch_cache_control, patch_vary_headers

from api.conditional import PreconditionFailed
from api.views import is_api_path

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class RequestSizeLimitMiddleware:
    """Answer 413 (JSON) when a body under /api/ is larger than the view accepts.

    Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not cover the JSON a DRF parser streams, so the
    declared length is checked here, before anything is read. Views may raise their own limit
    with a `max_body_bytes` attribute (the avatar upload does).
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        if not is_api_path(request.path):
            return None
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse(
                {"detail": "Content-Length is not a number.", "code": "bad_request"}, status=400
            )
        view_class = getattr(view_func, "cls", None) or getattr(view_func, "view_class", None)
        limit = getattr(view_class, "max_body_bytes", settings.API_MAX_BODY_BYTES)
        if callable(limit):
            limit = limit()
        if length > limit:
            return JsonResponse(
                {
                    "detail": f"Request body too large (limit {limit} bytes).",
                    "code": "request_too_large",
                },
                status=413,
            )
        return None


class CachePolicyMiddleware:
    """Keep one caller's answers out of every other caller's cache.

    Any API answer may depend on the Authorization header (a draft for its author, a 401 for a
    bad token), so every one says `Vary: Authorization`; anonymous answers stay cacheable as
    before. An answer to a request with credentials is `private, no-cache`: no shared cache
    stores it (RFC 9111 §5.2.2.7), and the caller's own client revalidates it with its ETag
    before reuse (§5.2.2.4), so a signed-out token is refused instead of served from a cache.
    Answers to writes, tokens from sign-in among them, are never stored (`no-store`, as
    RFC 6749 §5.1 requires of token responses).
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not is_api_path(request.path):
            return response
        patch_vary_headers(response, ["Authorization"])
        if request.method not in SAFE_METHODS:
            patch_cache_control(response, no_store=True)
        if "HTTP_AUTHORIZATION" in request.META:
            patch_cache_control(response, private=True, no_cache=True)
        return response


class ConditionalGetMiddleware(http.ConditionalGetMiddleware):
    """Django's ETags and 304s for GET, with the API's JSON body on its bodiless 412.

    A GET whose If-Match names no current ETag is refused with 412 (RFC 9110 §13.1.1) by
    Django before any API code sees it; under /api/ every error body is JSON.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        response = super().process_response(request, response)
        if response.status_code == 412 and is_api_path(request.path) and not response.content:
            error = PreconditionFailed()
            return JsonResponse({"detail": error.detail, "code": error.default_code}, status=412)
        return response
