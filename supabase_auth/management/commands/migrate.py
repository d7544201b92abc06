"""`migrate`, never over a transaction pooler: over DATABASE_MIGRATION_URL, or a clear refusal."""

from django.conf import settings
from django.core.management import CommandError
from django.core.management.commands import migrate
from django.db import DEFAULT_DB_ALIAS

MIGRATION_ALIAS = "migration"


class Command(migrate.Command):
    help = migrate.Command.help + (
        " With DATABASE_POOL_MODE=transaction it runs over DATABASE_MIGRATION_URL."
    )

    def handle(self, *args, **options) -> None:
        options["database"] = migration_database(options["database"])
        super().handle(*args, **options)


def migration_database(requested: str) -> str:
    """Return the alias to migrate: the direct connection when the default one is pooled.

    A transaction pooler (Supavisor port 6543, PgBouncer) lends a server connection per
    transaction: DDL that must run outside one (CREATE INDEX CONCURRENTLY), session settings
    and locks held across statements do not hold there. Supabase advises running migrations
    over the direct connection or the session pooler (port 5432).
    """
    if requested != DEFAULT_DB_ALIAS:
        return requested
    if MIGRATION_ALIAS in settings.DATABASES:
        return MIGRATION_ALIAS
    if settings.DATABASE_POOL_MODE == "transaction":
        raise CommandError(
            "DATABASE_POOL_MODE=transaction: migrations need a direct connection. Set "
            "DATABASE_MIGRATION_URL to the database's direct connection string (Supabase: "
            "db.<ref>.supabase.co:5432) or its session pooler (port 5432)."
        )
    return requested
