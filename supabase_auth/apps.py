"""App configuration: wires the migrate hooks and system checks of the Supabase layer."""

import logging
from pathlib import Path

from django.apps import AppConfig
from django.conf import settings
from django.db import connections
from django.db.models.signals import post_migrate, pre_migrate

logger = logging.getLogger(__name__)


def prepare_local_database(using: str, **kwargs) -> None:
    """Before migrating: lift the statement timeout; give databases we own Supabase's shape."""
    from supabase_auth.local import schema as local_schema

    connection = connections[using]
    if settings.DATABASE_POOL_MODE == "session":
        # Migrations may rebuild indexes on large tables: no statement timeout for them.
        with connection.cursor() as cursor:
            cursor.execute("set statement_timeout = 0")
    if settings.SUPABASE_LOCAL_AUTO_INIT and local_schema.supabase_evidence(connection) is None:
        local_schema.install(connection)


def hide_django_tables(using: str, **kwargs) -> None:
    """After migrating, take Django's own tables away from Supabase's API roles."""
    from supabase_auth import django_tables

    tables = django_tables.revoke_api_access(connections[using])
    if tables:
        logger.debug("Revoked anon/authenticated access on %d Django tables.", len(tables))


class SupabaseAuthConfig(AppConfig):
    name = "supabase_auth"
    verbose_name = "Supabase authentication"
    # The package's path also holds supabase-py's directory (supabase_auth/__init__.py):
    # templates, commands and migrations are looked up in ours only.
    path = str(Path(__file__).resolve().parent)

    def ready(self) -> None:
        from supabase_auth import checks, openapi  # noqa: F401  (register checks, OpenAPI scheme)

        pre_migrate.connect(prepare_local_database, sender=self)
        post_migrate.connect(hide_django_tables, sender=self)
