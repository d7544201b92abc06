"""Health endpoints, with or without the trailing slash (no redirect)."""

from django.urls import re_path

from health import views

urlpatterns = [
    re_path(r"^health/?$", views.health, name="health"),
    re_path(r"^health/ready/?$", views.ready, name="health-ready"),
]
