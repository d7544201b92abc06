"""App configuration for user profiles."""

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProfilesConfig(AppConfig):
    name = "profiles"

    def ready(self) -> None:
        from profiles import avatar_urls

        # The database's avatar URL rule follows SUPABASE_URL and SUPABASE_AVATARS_BUCKET.
        post_migrate.connect(avatar_urls.sync_after_migrate, sender=self)
