"""Transaction pooling for real: the API behind PgBouncer (pool_mode = transaction, one backend).

With a single server connection per database, every client's transaction runs on the backend
the previous client used: a prepared statement, a cursor or a setting one request left behind
is visible to the next, and is read back here through the pooler itself.
"""

import threading
import uuid

import httpx
import psycopg
import pytest

from tests.cluster.conftest import node_env, user_token
from tests.reliability.stack import Gunicorn
from tests.subprocess_django import run_django, run_python

BACKEND_STATE_SQL = """
select current_user,
       coalesce(current_setting('request.jwt.claims', true), ''),
       current_setting('statement_timeout'),
       (select count(*) from pg_prepared_statements),
       (select count(*) from pg_cursors),
       (select count(*) from pg_listening_channels())
"""
CLEAN_BACKEND = ("postgres", "", "0", 0, 0, 0)


def through_pooler(pgbouncer, sql: str, database: str = "primary") -> list[tuple]:
    """Run sql on the pooled backend, as one more client of the pooler."""
    with psycopg.connect(pgbouncer.url(database), autocommit=True, prepare_threshold=None) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


@pytest.fixture(scope="module")
def pooled_node(primary, pgbouncer, cluster_root):
    env = node_env(pgbouncer.url("primary"), DATABASE_POOL_MODE="transaction")
    node = Gunicorn(env, cluster_root / "pooled-node.log", workers=2).start()
    yield node, env
    node.stop()


def exercise_the_api(base: str, headers: dict, rounds: int) -> list[tuple[str, int]]:
    """Create, read, list, change under If-Match and delete posts; return (step, status)."""
    seen = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        for i in range(rounds):
            created = client.post("/api/posts/", json={"title": f"t{i}", "published": True})
            seen.append(("create", created.status_code))
            post_id = created.json()["id"]
            read = client.get(f"/api/posts/{post_id}")
            seen.append(("read", read.status_code))
            seen.append(("feed", client.get("/api/posts/").status_code))
            seen.append(("mine", client.get("/api/posts/me").status_code))
            changed = client.patch(
                f"/api/posts/{post_id}",
                json={"title": f"t{i}!"},
                headers={"If-Match": read.headers["ETag"]},
            )
            seen.append(("patch", changed.status_code))
            if i % 2:
                seen.append(("delete", client.delete(f"/api/posts/{post_id}").status_code))
    return seen


def test_api_works_through_a_transaction_pooler_under_concurrency(pooled_node, primary):
    node, env = pooled_node
    users = [
        user_token(primary, env, f"pool{i}-{uuid.uuid4().hex[:6]}@example.com") for i in range(4)
    ]
    results: dict[uuid.UUID, list] = {}

    def run(user_id, token):
        results[user_id] = exercise_the_api(node.url, {"Authorization": f"Bearer {token}"}, 6)

    threads = [threading.Thread(target=run, args=user) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    expected = {"create": 201, "read": 200, "feed": 200, "mine": 200, "patch": 200, "delete": 204}
    for steps in results.values():
        assert [status for _, status in steps] == [expected[step] for step, _ in steps]
    assert len(results) == 4
    for user_id, _ in users:
        rows = primary.execute(
            "select title from posts where author_id = %s order by title", [user_id]
        )
        assert rows == [("t0!",), ("t2!",), ("t4!",)]


def test_api_leaves_no_session_state_on_the_pooled_backend(pooled_node, primary, pgbouncer):
    node, env = pooled_node
    _, token = user_token(primary, env, f"state-{uuid.uuid4().hex[:6]}@example.com")
    exercise_the_api(node.url, {"Authorization": f"Bearer {token}"}, 3)

    state = through_pooler(pgbouncer, BACKEND_STATE_SQL)

    assert state == [CLEAN_BACKEND]


def test_backend_state_check_sees_a_leaked_prepared_statement(pgbouncer):
    # Negative control: a client that prepares (psycopg's default after 5 runs; 0 = at once)
    # leaves its statement on the backend, and the check above reads it back.
    with psycopg.connect(pgbouncer.url("primary"), autocommit=True, prepare_threshold=0) as conn:
        conn.execute("select 1 where %s", [True])
    try:
        state = through_pooler(pgbouncer, BACKEND_STATE_SQL)
    finally:
        through_pooler(pgbouncer, "deallocate all")

    assert state[0][3] == 1


ITERATE_ONE_ROW = """
from posts.models import Post
import psycopg
from django.conf import settings
rows = Post.objects.order_by("id").iterator(chunk_size=1)
next(rows)
with psycopg.connect(settings.POOLER_PROBE_URL, autocommit=True, prepare_threshold=None) as conn:
    print(conn.execute("select count(*) from pg_cursors").fetchone()[0])
"""


@pytest.mark.parametrize(("pool_mode", "cursors"), [("transaction", 0), ("session", 1)])
def test_iterating_a_queryset_opens_no_server_side_cursor_in_transaction_mode(
    pooled_node, primary, pgbouncer, pool_mode, cursors
):
    # session mode is the negative control: Django's named cursor WITH HOLD stays on the
    # backend that the next client of the pooler gets.
    node, env = pooled_node
    _, token = user_token(primary, env, f"iter-{uuid.uuid4().hex[:6]}@example.com")
    exercise_the_api(node.url, {"Authorization": f"Bearer {token}"}, 2)
    code = "from django.conf import settings\n" + ITERATE_ONE_ROW.replace(
        "settings.POOLER_PROBE_URL", repr(pgbouncer.url("primary"))
    )

    result = run_python(env | {"DATABASE_POOL_MODE": pool_mode}, code)
    through_pooler(pgbouncer, "close all")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(cursors)


def fresh_database(primary, name: str) -> str:
    primary.execute(f'drop database if exists "{name}"')
    primary.execute(f'create database "{name}"')
    return primary.url.replace("/postgres?", f"/{name}?")


def tables(primary, database_url: str) -> list[str]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        rows = conn.execute(
            "select tablename from pg_tables where schemaname = 'public' order by 1"
        ).fetchall()
    return [name for (name,) in rows]


def test_migrate_over_a_transaction_pooler_is_refused_naming_the_direct_url(primary, pgbouncer):
    direct = fresh_database(primary, "migrate_refused")
    env = node_env(direct)
    assert run_django(env, "manage.py", "supabase_local_init").returncode == 0
    pooled = node_env(pgbouncer.url("migrate_refused"), DATABASE_POOL_MODE="transaction")

    result = run_django(pooled, "manage.py", "migrate", "--noinput")

    assert result.returncode == 1
    assert "DATABASE_MIGRATION_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert tables(primary, direct) == []


def test_migrate_runs_over_database_migration_url_when_the_pooler_is_down(primary):
    direct = fresh_database(primary, "migrate_direct")
    assert run_django(node_env(direct), "manage.py", "supabase_local_init").returncode == 0
    env = node_env(
        "postgres://postgres@127.0.0.1:9/migrate_direct",  # a pooler nobody answers on
        DATABASE_POOL_MODE="transaction",
        DATABASE_MIGRATION_URL=direct,
    )

    result = run_django(env, "manage.py", "migrate", "--noinput")

    assert result.returncode == 0, result.stderr
    assert {"posts", "profiles", "django_migrations"} <= set(tables(primary, direct))
