"""App configuration for user profiles."""

from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "profiles"
