"""The API's own routes: OpenAPI schema and docs, and the JSON 404 for everything else."""

from django.urls import re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from api.views import not_found

urlpatterns = [
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    re_path(
        r"^redoc/?$",
        SpectacularRedocView.as_view(url_name="schema", template_name="api/redoc.html"),
        name="redoc",
    ),
    # Last: unknown paths get JSON, whatever the method; (?s) so a newline (%0A) matches too.
    re_path(r"^(?P<path>(?s:.*))$", not_found),
]
