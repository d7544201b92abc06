"""Migrations apply and reverse cleanly, policies included."""

from django.core.management import call_command
from django.db import connection

from tests.factories import make_post


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


POSTS_POLICIES = {
    "posts_select_published",
    "posts_select_own",
    "posts_insert_own",
    "posts_update_own",
    "posts_delete_own",
}


def rows(table: str) -> list[tuple]:
    """Return every row of a contract table, contract columns only, in id order."""
    columns = {
        "posts": "id, author_id, title, content, published, created_at, updated_at",
        "profiles": "id, email, name, avatar_url, created_at, updated_at",
    }[table]
    with connection.cursor() as cursor:
        cursor.execute(f"select {columns} from {table} order by id")  # noqa: S608 - fixed names
        return cursor.fetchall()


def row_level_security(table: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("select relrowsecurity from pg_class where oid = %s::regclass", [table])
        return cursor.fetchone()[0]


def test_rls_can_be_reverted_without_dropping_data(db, author_posts, other_user):
    make_post(other_user, published=True)
    posts, profiles = rows("posts"), rows("profiles")
    assert (len(posts), len(profiles)) == (3, 2)

    call_command("migrate", "posts", "0001", verbosity=0)
    reverted = rows("posts"), rows("profiles")
    call_command("migrate", "posts", verbosity=0)

    assert reverted == (posts, profiles)  # RLS off: every row still there, unchanged
    assert (rows("posts"), rows("profiles")) == (posts, profiles)
    assert policy_names("posts") >= POSTS_POLICIES
    assert row_level_security("posts")


def test_reverting_rls_removes_its_policies(db):
    call_command("migrate", "posts", "0001", verbosity=0)

    assert policy_names("posts") == set()
    assert not row_level_security("posts")


def test_models_and_migrations_agree(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
