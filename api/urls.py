"""The API's own routes: OpenAPI schema and docs, and the JSON 404 for everything else."""

from django.urls import re_path
from drf_spectacular.views import SpectacularAPIView

from api.views import RedocView, SwaggerView, not_found

urlpatterns = [
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SwaggerView.as_view(url_name="schema"), name="docs"),
    re_path(
        r"^redoc/?$",
        RedocView.as_view(url_name="schema", template_name="api/redoc.html"),
        name="redoc",
    ),
    # Last: unknown paths get JSON, whatever the method; (?s) so a newline (%0A) matches too.
    re_path(r"^(?P<path>(?s:.*))$", not_found),
]
