"""URL wiring: admin, health checks and the API."""

from django.contrib import admin
from django.urls import include, path, re_path

from api.views import not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("health.urls")),
    path("api/", include("posts.urls")),
    path("api/", include("profiles.urls")),
    path("api/", include("supabase_auth.urls")),
    path("api/", include("api.urls")),  # schema, docs, then the JSON 404 catch-all
    re_path(r"^api$", not_found),  # not a redirect to /api/
]

# Whatever no route or view answers: JSON under /api/, Django's pages elsewhere.
handler400 = "api.views.bad_request"
handler403 = "api.views.permission_denied"
handler404 = "api.views.page_not_found"
handler500 = "api.views.server_error"
