"""profiles 0003 repairs what the Data API let users store, then constrains it; it reverses."""

import uuid

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from tests.factories import make_auth_user

OWN_BUCKET = f"{settings.SUPABASE_URL}/storage/v1/object/public/avatars"


def execute(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def insert_profile(
    email: str, created_at: str, updated_at: str, avatar_url: str | None
) -> uuid.UUID:
    """Write a row as the Data API allowed before 0003 (raw SQL: the model has the new rules)."""
    user = make_auth_user(email)
    execute(
        "insert into profiles (id, email, created_at, updated_at, avatar_url) "
        "values (%s, %s, %s, %s, %s)",
        [user.id, email, created_at, updated_at, avatar_url],
    )
    return user.id


def row(profile_id: uuid.UUID) -> tuple:
    return execute(
        "select created_at::text, updated_at::text, avatar_url from profiles where id = %s",
        [profile_id],
    )[0]


def constraint_names() -> set[str]:
    rows = execute("select conname from pg_constraint where conrelid = 'profiles'::regclass")
    return {name for (name,) in rows}


@pytest.fixture
def before_0003(db):
    call_command("migrate", "posts", "0002", verbosity=0)
    call_command("migrate", "profiles", "0002", verbosity=0)
    yield
    call_command("migrate", verbosity=0)


def test_migration_repairs_stored_values_before_constraining_them(before_0003):
    (now,) = execute("select now()::text")[0]
    healthy_url = f"{OWN_BUCKET}/{{id}}/avatar.png?v=abc123"
    forged = insert_profile("forged@example.com", "infinity", "-infinity", "javascript:alert(1)")
    future = insert_profile("future@example.com", "2020-01-01 00:00:00+00", "9000-01-01", None)
    healthy_id = uuid.uuid4()
    make_auth_user("healthy@example.com", user_id=healthy_id)
    execute(
        "insert into profiles (id, email, created_at, updated_at, avatar_url) "
        "values (%s, 'healthy@example.com', '2020-01-01', '2021-01-01', %s)",
        [healthy_id, healthy_url.format(id=healthy_id)],
    )

    call_command("migrate", "profiles", verbosity=0)

    assert row(forged) == (now, now, None)
    assert row(future) == ("2020-01-01 00:00:00+00", now, None)
    assert row(healthy_id) == (
        "2020-01-01 00:00:00+00",
        "2021-01-01 00:00:00+00",
        healthy_url.format(id=healthy_id),
    )
    assert {
        "profiles_created_at_range",
        "profiles_updated_at_range",
        "profiles_avatar_url_own_bucket",
    } <= constraint_names()


def test_reversing_0003_restores_the_old_grants_and_keeps_the_rows(before_0003):
    kept = insert_profile("kept@example.com", "2020-01-01", "2021-01-01", None)
    call_command("migrate", "profiles", verbosity=0)
    call_command("migrate", "profiles", "0002", verbosity=0)

    grants = execute(
        "select privilege_type, column_name from information_schema.column_privileges "
        "where table_name = 'profiles' and grantee = 'authenticated' and privilege_type = 'UPDATE'"
    )
    assert {column for _, column in grants} == {"name", "avatar_url", "updated_at"}
    assert not {"profiles_avatar_url_own_bucket"} & constraint_names()
    assert execute("select to_regprocedure('public.my_profile()')") == [(None,)]
    assert row(kept) == ("2020-01-01 00:00:00+00", "2021-01-01 00:00:00+00", None)


def test_data_api_writes_work_without_supabases_default_function_privileges(
    before_0003, as_role, settings
):
    # The CHECK calls profile_avatar_url_ok() as the writing role: 0003 grants EXECUTE itself
    # instead of relying on default privileges that newer Supabase images may tighten.
    settings.SUPABASE_LOCAL_AUTO_INIT = False  # it would grant the defaults back
    execute("alter default privileges revoke execute on functions from public")
    execute(
        "alter default privileges in schema public revoke all on functions from anon, authenticated"
    )
    call_command("migrate", "profiles", verbosity=0)
    user = make_auth_user("new@example.com")
    claims = {"sub": str(user.id), "role": "authenticated", "email": user.email}

    with as_role("authenticated", claims) as cursor:
        cursor.execute("insert into profiles (id, email) values (%s, %s)", [user.id, user.email])

    assert execute("select email from profiles where id = %s", [user.id]) == [(user.email,)]
