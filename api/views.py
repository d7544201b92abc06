"""The API's own views: its documentation pages, and JSON for what no endpoint answers.

Django's handler400/403/404/500 (config/urls.py) come here: under /api/ they answer JSON,
elsewhere (the admin, static files) Django's own pages.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import View, defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView

API_PREFIX = "/api/"
API_ROOT = "/api"

# The body of each status answered without a view: (detail, code), as DRF words them.
ERRORS = {
    400: ("Bad request.", "bad_request"),
    403: ("You do not have permission to perform this action.", "permission_denied"),
    404: ("Not found.", "not_found"),
    500: ("Internal server error.", "server_error"),
}


def is_api_path(path: str) -> bool:
    """Return whether a request path belongs to the API (`/api` itself or anything below)."""
    return path == API_ROOT or path.startswith(API_PREFIX)


def error_response(status: int) -> JsonResponse:
    """Return the API's JSON body for a status it answers without a view."""
    detail, code = ERRORS[status]
    return JsonResponse({"detail": detail, "code": code}, status=status)


@csrf_exempt  # a POST to an unknown path is a 404, not a CSRF failure: no cookies are used here
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Answer any unknown path under /api/ (any method) with a JSON 404."""
    return error_response(404)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer a request Django refused before any view (bad Host, too many fields) under /api/."""
    if is_api_path(request.path):
        return error_response(400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer a PermissionDenied no API view caught with JSON under /api/."""
    if is_api_path(request.path):
        return error_response(403)
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer a path no route matches (a newline in it, say) with JSON under /api/."""
    if is_api_path(request.path):
        return error_response(404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """Answer a crash with JSON under /api/ (Django's HTML page elsewhere); never leak details."""
    if is_api_path(request.path):
        return error_response(500)
    return defaults.server_error(request)


class DocsPage:
    """An HTML documentation page: OPTIONS lists its methods in `Allow`, as Django's views do.

    DRF would render its JSON metadata through the page's HTML template renderer, which has no
    template for it (a 500 on Swagger UI).
    """

    def options(self, request, *args, **kwargs) -> HttpResponse:
        return View.options(self, request, *args, **kwargs)


class SwaggerView(DocsPage, SpectacularSwaggerView):
    """Swagger UI, served from drf-spectacular-sidecar (no CDN)."""


class RedocView(DocsPage, SpectacularRedocView):
    """Redoc, served from drf-spectacular-sidecar (no CDN)."""
