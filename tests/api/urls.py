"""The project's URLs plus views failing in each way, answered in /api/ and outside it."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404
from django.urls import path

from config import urls as project


def crash(request):
    raise RuntimeError("secret detail: postgres://app:hunter2@db")


def suspicious(request):
    raise SuspiciousOperation("secret detail: hunter2")


def forbidden(request):
    raise PermissionDenied("secret detail: hunter2")


def missing(request):
    raise Http404("secret detail: hunter2")


FAILURES = {"crash": crash, "suspicious": suspicious, "forbidden": forbidden, "missing": missing}

urlpatterns = [
    *(path(f"api/{name}", view) for name, view in FAILURES.items()),
    *(path(name, view) for name, view in FAILURES.items()),
    *project.urlpatterns,
]

handler400 = project.handler400
handler403 = project.handler403
handler404 = project.handler404
handler500 = project.handler500
