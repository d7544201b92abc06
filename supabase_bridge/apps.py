"""App configuration: wires the migrate hooks and system checks of the Supabase layer."""

import logging

from django.apps import AppConfig
from django.conf import settings
from django.db import connections
from django.db.models.signals import post_migrate, pre_migrate

logger = logging.getLogger(__name__)


def prepare_local_database(using: str, **kwargs) -> None:
    """Before migrating: lift the statement timeout; give databases we own Supabase's shape."""
    from supabase_bridge import local_schema

    connection = connections[using]
    if settings.DATABASE_POOL_MODE == "session":
        # Migrations may rebuild indexes on large tables: no statement timeout for them.
        with connection.cursor() as cursor:
            cursor.execute("set statement_timeout = 0")
    if settings.SUPABASE_LOCAL_AUTO_INIT and local_schema.supabase_evidence(connection) is None:
        local_schema.install(connection)


def hide_django_tables(using: str, **kwargs) -> None:
    """After migrating, take Django's own tables away from Supabase's API roles."""
    from supabase_bridge import exposure

    tables = exposure.revoke_api_access(connections[using])
    if tables:
        logger.debug("Revoked anon/authenticated access on %d Django tables.", len(tables))


class SupabaseAuthConfig(AppConfig):
    name = "supabase_bridge"
    verbose_name = "Supabase authentication"

    def ready(self) -> None:
        from supabase_bridge import checks, schema  # noqa: F401  (register checks, OpenAPI scheme)

        pre_migrate.connect(prepare_local_database, sender=self)
        post_migrate.connect(hide_django_tables, sender=self)
        if settings.USES_EMBEDDED_DATABASE:
            from supabase_bridge import local_database

            local_database.announce(settings.EMBEDDED_DATABASE_DIR, settings.DATABASE_URL)
