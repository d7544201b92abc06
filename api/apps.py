"""App configuration for the API's cross-cutting conventions."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API conventions"
