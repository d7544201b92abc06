"""Migrations apply and reverse cleanly, policies included."""

from django.core.management import call_command
from django.db import connection


def table_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("select to_regclass(%s) is not null", [name])
        return cursor.fetchone()[0]


def policy_names(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("select policyname from pg_policies where tablename = %s", [table])
        return {row[0] for row in cursor.fetchall()}


def test_migrations_reverse_to_zero_and_apply_again(db):
    call_command("migrate", "posts", "zero", verbosity=0)
    assert not table_exists("posts")
    call_command("migrate", "profiles", "zero", verbosity=0)
    assert not table_exists("profiles")

    call_command("migrate", verbosity=0)

    assert table_exists("posts")
    assert table_exists("profiles")
    assert "posts_select_published" in policy_names("posts")
    assert "profiles_select_public" in policy_names("profiles")


def test_rls_can_be_reverted_without_dropping_data(db, author):
    call_command("migrate", "posts", "0001", verbosity=0)
    assert policy_names("posts") == set()

    call_command("migrate", "posts", verbosity=0)
    assert len(policy_names("posts")) == 5


def test_models_and_migrations_agree(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
