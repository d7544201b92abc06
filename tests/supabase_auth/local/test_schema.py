"""supabase_local_init's schema on the suite's database (a plain one: management/commands)."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from supabase_auth.local import schema as local_schema


def scalar(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_service_role_bypasses_rls_and_api_roles_do_not(db):
    assert scalar("select rolbypassrls from pg_roles where rolname = 'service_role'")
    assert not scalar("select rolbypassrls from pg_roles where rolname = 'authenticated'")
    assert not scalar("select rolbypassrls from pg_roles where rolname = 'anon'")


def test_authenticator_can_switch_to_the_api_roles(db):
    for role in ("anon", "authenticated", "service_role"):
        assert scalar("select pg_has_role('authenticator', %s, 'member')", [role])


def test_jwt_helpers_read_postgrest_claims(db):
    claims = {
        "sub": "3f1b3c1e-8f0a-4c8e-9d52-7a4a3c2b1d00",
        "role": "authenticated",
        "email": "a@example.com",
    }
    with connection.cursor() as cursor:
        cursor.execute("select set_config('request.jwt.claims', %s, true)", [json.dumps(claims)])
        cursor.execute("select auth.uid()::text, auth.role(), auth.email(), auth.jwt() ->> 'sub'")
        assert cursor.fetchone() == (claims["sub"], "authenticated", "a@example.com", claims["sub"])


def test_jwt_helpers_are_null_without_claims(db):
    assert scalar("select auth.uid()") is None


def test_refuses_a_database_with_an_auth_schema_it_did_not_make(db):
    with connection.cursor() as cursor:
        cursor.execute("comment on schema auth is 'managed by Supabase'")

    with pytest.raises(CommandError, match="real Supabase database"):
        call_command("supabase_local_init")


@pytest.mark.parametrize("role", ["supabase_admin", "supabase_auth_admin"])
def test_refuses_a_database_with_supabase_roles(db, role):
    """Each role alone is evidence (the command's own test: management/commands)."""
    with connection.cursor() as cursor:
        cursor.execute(f"create role {role}")  # rolled back with the test transaction

    with pytest.raises(local_schema.RealSupabaseDatabase, match=f"role {role} exists"):
        local_schema.install(connection)


def test_migrate_stops_with_instructions_without_an_auth_schema(db, settings):
    settings.SUPABASE_LOCAL_AUTO_INIT = False  # as on a plain Postgres of the user's
    call_command("migrate", "posts", "zero", verbosity=0)
    call_command("migrate", "profiles", "zero", verbosity=0)  # its reverse restores policies
    with connection.cursor() as cursor:
        cursor.execute("alter schema auth rename to auth_elsewhere")

    with pytest.raises(CommandError, match="supabase_local_init"):
        call_command("migrate", "profiles", verbosity=0)


def test_migrate_prepares_databases_we_own(db, settings):
    settings.SUPABASE_LOCAL_AUTO_INIT = True
    with connection.cursor() as cursor:
        cursor.execute("drop publication supabase_realtime")

    call_command("migrate", verbosity=0)

    assert scalar("select count(*) from pg_publication where pubname = 'supabase_realtime'") == 1
