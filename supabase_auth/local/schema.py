"""Give a plain Postgres what Supabase provides: the auth schema, roles, grants, publication."""

from pathlib import Path

from django.db.backends.base.base import BaseDatabaseWrapper

INIT_SQL = Path(__file__).with_name("sql") / "supabase.sql"
MARKER = "Supabase-like auth schema made by supabase_local_init; not a Supabase project."

# Roles and schemas that exist only on databases run by Supabase (hosted, CLI or self-hosted).
SUPABASE_ONLY_ROLES = ("supabase_admin", "supabase_auth_admin")


class RealSupabaseDatabase(Exception):
    """Raised instead of touching a database that Supabase itself manages."""


def has_auth_schema(connection: BaseDatabaseWrapper) -> bool:
    """Return whether the database has an `auth` schema (real Supabase or made by us)."""
    with connection.cursor() as cursor:
        cursor.execute("select exists (select from pg_namespace where nspname = 'auth')")
        return cursor.fetchone()[0]


def supabase_evidence(connection: BaseDatabaseWrapper) -> str | None:
    """Return why this database looks managed by Supabase, or None for a plain Postgres."""
    with connection.cursor() as cursor:
        cursor.execute(
            "select rolname from pg_roles where rolname = any(%s) order by rolname",
            [list(SUPABASE_ONLY_ROLES)],
        )
        roles = [row[0] for row in cursor.fetchall()]
        if roles:
            return f"role {roles[0]} exists"
        cursor.execute(
            "select obj_description(oid, 'pg_namespace') from pg_namespace where nspname = 'auth'"
        )
        row = cursor.fetchone()
        if row is not None and row[0] != MARKER:
            return "an auth schema exists that supabase_local_init did not create"
    return None


def install(connection: BaseDatabaseWrapper) -> None:
    """Create or complete the Supabase-like objects; refuse on a database Supabase manages."""
    evidence = supabase_evidence(connection)
    if evidence:
        raise RealSupabaseDatabase(
            f"This looks like a real Supabase database ({evidence}); it already has what "
            "supabase_local_init would create, so nothing was changed."
        )
    with connection.cursor() as cursor:
        cursor.execute(INIT_SQL.read_text())
        # MARKER is a constant without quotes, so it can be inlined (COMMENT takes no parameters).
        cursor.execute(f"comment on schema auth is '{MARKER}'")


def require_auth_schema(apps, schema_editor) -> None:
    """Migration step: stop with instructions when the database has no `auth` schema."""
    from django.core.management.base import CommandError

    if not has_auth_schema(schema_editor.connection):
        raise CommandError(
            "This database has no `auth` schema, so it is neither Supabase nor prepared like it. "
            "Run `python manage.py supabase_local_init` first, or point DATABASE_URL at your "
            "Supabase database."
        )
