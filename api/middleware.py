"""Request hygiene before any view reads the body."""

from django.conf import settings
from django.http import HttpRequest, JsonResponse

from api.views import API_PREFIX


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
        if not request.path.startswith(API_PREFIX):
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
