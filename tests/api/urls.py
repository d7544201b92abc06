"""The project's URLs plus views that crash, to see how a 500 is answered in and out of /api/."""

from django.urls import path

from config.urls import urlpatterns as project_urlpatterns


def crash(request):
    raise RuntimeError("secret detail: postgres://app:hunter2@db")


urlpatterns = [path("api/crash", crash), path("crash", crash), *project_urlpatterns]

handler500 = "api.views.server_error"
