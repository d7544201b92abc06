"""Django's own tables stay out of reach of the roles Supabase's Data API uses."""

import pytest
from django.core.management import call_command
from django.db import ProgrammingError, connection

from supabase_auth import django_tables
from supabase_auth.checks import check_django_tables_private
from tests.factories import claims_for

DJANGO_TABLES = ["auth_user", "django_session", "django_admin_log", "django_migrations"]


def privilege(role: str, table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "select has_table_privilege(%s, %s, %s)", [role, table, django_tables.PRIVILEGES]
        )
        return cursor.fetchone()[0]


def test_django_tables_exist_and_are_the_ones_kept_private(db):
    """What the other tests stand on: with no tables, "nobody can reach them" proves nothing."""
    assert set(DJANGO_TABLES) <= set(django_tables.names(connection))


@pytest.mark.parametrize("table", DJANGO_TABLES)
def test_owner_reads_django_tables(db, table):
    """Positive control: the denials below come from grants, not from a missing table."""
    with connection.cursor() as cursor:
        cursor.execute(f"select count(*) from {table}")  # noqa: S608 - fixed table names
        assert cursor.fetchone()[0] >= 0


@pytest.mark.parametrize("table", DJANGO_TABLES)
@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_api_roles_cannot_read_django_tables(as_role, author, role, table):
    claims = claims_for(author) if role == "authenticated" else None

    with (
        pytest.raises(ProgrammingError, match=f"permission denied for table {table}"),
        as_role(role, claims) as cursor,
    ):
        cursor.execute(f"select * from {table}")  # noqa: S608 - fixed table names


def test_django_tables_have_row_level_security(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "select relname, relrowsecurity from pg_class where relname = any(%s) order by 1",
            [DJANGO_TABLES],
        )
        assert cursor.fetchall() == [(table, True) for table in sorted(DJANGO_TABLES)]


def test_check_warns_when_a_grant_comes_back(db):
    with connection.cursor() as cursor:
        cursor.execute("grant select on auth_user to anon")

    warnings = check_django_tables_private(None, databases=["default"])

    assert [w.id for w in warnings] == ["supabase_auth.W001"]
    assert "auth_user" in warnings[0].msg


def test_check_is_silent_when_tables_are_private(db):
    assert not any(privilege(role, t) for role in ("anon", "authenticated") for t in DJANGO_TABLES)

    assert check_django_tables_private(None, databases=["default"]) == []


def test_migrate_revokes_grants_again(db):
    with connection.cursor() as cursor:
        cursor.execute("grant all on django_session to authenticated")
    assert django_tables.exposed(connection) == ["django_session"]

    call_command("migrate", verbosity=0)

    assert django_tables.exposed(connection) == []
    assert not privilege("authenticated", "django_session")


def test_rls_tables_keep_their_grants(db):
    assert "posts" not in django_tables.names(connection)
    assert "profiles" not in django_tables.names(connection)
    assert privilege("authenticated", "posts")
