"""posts 0003 repairs timestamps the Data API let authors store, then constrains them."""

import pytest
from django.core.management import call_command
from django.db import connection

from tests.factories import make_post


def execute(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def times(post) -> tuple[str, str]:
    return execute("select created_at::text, updated_at::text from posts where id = %s", [post.id])[
        0
    ]


@pytest.fixture
def before_0003(author):
    call_command("migrate", "posts", "0002", verbosity=0)
    yield
    call_command("migrate", verbosity=0)


def test_migration_repairs_stored_timestamps_before_constraining_them(author, before_0003):
    (now,) = execute("select now()::text")[0]
    poisoned, old_news, healthy = make_post(author), make_post(author), make_post(author)
    execute("update posts set updated_at = 'infinity' where id = %s", [poisoned.id])
    execute(
        "update posts set created_at = '2020-01-01', updated_at = '1999-01-01 BC' where id = %s",
        [old_news.id],
    )
    execute(
        "update posts set created_at = '2020-01-01', updated_at = '2021-01-01' where id = %s",
        [healthy.id],
    )
    created_at = times(poisoned)[0]

    call_command("migrate", "posts", verbosity=0)

    assert times(poisoned) == (created_at, now)
    assert times(old_news) == ("2020-01-01 00:00:00+00", now)
    assert times(healthy) == ("2020-01-01 00:00:00+00", "2021-01-01 00:00:00+00")
    names = {
        n
        for (n,) in execute("select conname from pg_constraint where conrelid = 'posts'::regclass")
    }
    assert {"posts_created_at_range", "posts_updated_at_range"} <= names


def test_reversing_0003_restores_the_old_grants_and_keeps_the_rows(author, before_0003):
    call_command("migrate", "posts", verbosity=0)
    post = make_post(author, published=True)
    before = times(post)

    call_command("migrate", "posts", "0002", verbosity=0)

    grants = execute(
        "select column_name from information_schema.column_privileges "
        "where table_name = 'posts' and grantee = 'authenticated' and privilege_type = 'UPDATE'"
    )
    assert {column for (column,) in grants} == {"title", "content", "published", "updated_at"}
    assert times(post) == before
    assert execute("select title from posts where id = %s", [post.id]) == [(post.title,)]
