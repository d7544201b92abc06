"""Keep Django's own tables (auth_user, django_session, ...) out of reach of Supabase's API roles.

Supabase's Data API exposes `public`, where Django creates its tables, and Supabase's default
privileges grant everything there to `anon` and `authenticated` (SUPABASE.md §6). Tables with
row-level security of their own (profiles, posts) are managed by their migrations instead.
"""

from django.apps import apps
from django.db.backends.base.base import BaseDatabaseWrapper

API_ROLES = ("anon", "authenticated")
PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"


def rls_managed_tables() -> set[str]:
    """Return the tables whose access is governed by RLS policies shipped as migrations."""
    return {
        model._meta.db_table
        for model in apps.get_models()
        if getattr(model, "row_level_security", False)
    }


def names(connection: BaseDatabaseWrapper) -> list[str]:
    """Return Django's tables in this database that must stay private to the API roles."""
    with connection.cursor() as cursor:
        existing = set(connection.introspection.table_names(cursor))
    known = set(connection.introspection.django_table_names(only_existing=True)) | {
        "django_migrations"
    }
    return sorted((known & existing) - rls_managed_tables())


def api_roles_exist(connection: BaseDatabaseWrapper) -> bool:
    """Return whether the database has Supabase's API roles (Supabase, or supabase_local_init)."""
    with connection.cursor() as cursor:
        cursor.execute("select count(*) from pg_roles where rolname = any(%s)", [list(API_ROLES)])
        return cursor.fetchone()[0] == len(API_ROLES)


def exposed(connection: BaseDatabaseWrapper) -> list[str]:
    """Return Django's tables on which `anon` or `authenticated` holds any privilege."""
    if not api_roles_exist(connection):
        return []
    tables = names(connection)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            select distinct c.relname
            from pg_class c
            join pg_namespace n on n.oid = c.relnamespace
            cross join unnest(%s::text[]) as role(name)
            where c.relname = any(%s) and n.nspname = any(current_schemas(false))
              and has_table_privilege(role.name, c.oid, %s)
            order by c.relname
            """,
            [list(API_ROLES), tables, PRIVILEGES],
        )
        return [row[0] for row in cursor.fetchall()]


def revoke_api_access(connection: BaseDatabaseWrapper) -> list[str]:
    """Revoke the API roles' privileges on Django's tables and lock them with RLS; return them."""
    if not api_roles_exist(connection):
        return []
    tables = names(connection)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in tables:
            # RLS without policies is a second lock: the table owner (Django) is exempt.
            cursor.execute(
                f"revoke all on table {quote(table)} from {', '.join(API_ROLES)};"
                f"alter table {quote(table)} enable row level security"
            )
        cursor.execute(
            """
            select s.relname from pg_class s
            join pg_depend d on d.objid = s.oid and d.deptype in ('a', 'i')
            join pg_class t on t.oid = d.refobjid
            where s.relkind = 'S' and t.relname = any(%s)
            """,
            [tables],
        )
        for (sequence,) in cursor.fetchall():
            cursor.execute(f"revoke all on sequence {quote(sequence)} from {', '.join(API_ROLES)}")
    return tables
