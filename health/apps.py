"""App configuration for the health endpoints."""

from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "health"
