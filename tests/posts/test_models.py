"""Post indexes serve the list queries: no sequential scan of posts, no sort, at 10,000+ rows."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import make_profile

ROWS = 12_000
FEED_INDEX = "posts_published_feed_idx"
AUTHOR_INDEX = "posts_author_feed_idx"


@pytest.fixture
def big_table(db):
    """12,000 posts over four authors, one in ten a draft, one per second; statistics fresh."""
    authors = [make_profile(f"writer{n}@example.com") for n in range(4)]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            insert into posts (id, author_id, title, content, published, created_at, updated_at)
            select gen_random_uuid(),
                   (%(authors)s::uuid[])[1 + n %% 4],
                   'Post ' || n,
                   'Body ' || n,
                   n %% 10 <> 0,
                   now() - n * interval '1 second',
                   now() - n * interval '1 second'
            from generate_series(1, %(rows)s) as n
            """,
            {"authors": [str(a.id) for a in authors], "rows": ROWS},
        )
        cursor.execute("analyze posts")
    return authors


def posts_query(client, path: str, params: dict | None = None) -> tuple[str, dict]:
    """Call the endpoint; return the SQL it ran against posts, and the response body."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params)
    assert response.status_code == 200, response.content
    selects = [q["sql"] for q in queries if 'FROM "posts"' in q["sql"]]
    assert len(selects) == 1, selects
    return selects[0], response.json()


def plan_nodes(sql: str) -> list[dict]:
    with connection.cursor() as cursor:
        cursor.execute(f"explain (format json) {sql}")
        (raw,) = cursor.fetchone()
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    nodes, todo = [], [plan]
    while todo:
        node = todo.pop()
        nodes.append(node)
        todo.extend(node.get("Plans", []))
    return nodes


def assert_served_by(sql: str, index: str) -> None:
    nodes = plan_nodes(sql)
    types = [node["Node Type"] for node in nodes]
    seq_scans = [n for n in nodes if n["Node Type"] == "Seq Scan" and n["Relation Name"] == "posts"]
    assert seq_scans == [], types
    assert "Sort" not in types, types  # the index already gives (created_at desc, id desc)
    assert index in {node.get("Index Name") for node in nodes}, nodes


def test_table_holds_what_the_plans_are_about(big_table):
    with connection.cursor() as cursor:
        cursor.execute("select count(*), count(*) filter (where not published) from posts")
        total, drafts = cursor.fetchone()

    assert (total, drafts) == (ROWS, ROWS // 10)


def test_list_first_page_uses_the_published_feed_index(anon_client, big_table):
    sql, _ = posts_query(anon_client, "/api/posts/")

    assert_served_by(sql, FEED_INDEX)


def test_list_page_after_a_cursor_uses_the_published_feed_index(anon_client, big_table):
    _, first = posts_query(anon_client, "/api/posts/", {"page_size": 100})
    for _ in range(20):  # deep into the feed: a keyset page costs the same at any depth
        _, first = posts_query(anon_client, first["next"])

    sql, page = posts_query(anon_client, first["next"])

    assert len(page["results"]) == 100
    assert_served_by(sql, FEED_INDEX)


def test_list_page_before_a_cursor_uses_the_published_feed_index(anon_client, big_table):
    _, first = posts_query(anon_client, "/api/posts/")
    _, second = posts_query(anon_client, first["next"])

    sql, _ = posts_query(anon_client, second["previous"])

    assert_served_by(sql, FEED_INDEX)


def test_me_uses_the_author_feed_index(client_for, big_table):
    client = client_for(big_table[0])

    sql, page = posts_query(client, "/api/posts/me")

    assert len(page["results"]) == 20
    assert_served_by(sql, AUTHOR_INDEX)


def test_me_page_after_a_cursor_uses_the_author_feed_index(client_for, big_table):
    client = client_for(big_table[1])
    _, first = posts_query(client, "/api/posts/me")

    sql, _ = posts_query(client, first["next"])

    assert_served_by(sql, AUTHOR_INDEX)


def test_list_by_author_uses_an_index(anon_client, big_table):
    sql, _ = posts_query(anon_client, "/api/posts/", {"author": str(big_table[2].id)})

    nodes = plan_nodes(sql)
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], nodes
    assert {n.get("Index Name") for n in nodes} & {FEED_INDEX, AUTHOR_INDEX}


def test_profile_posts_use_an_index(anon_client, big_table):
    sql, _ = posts_query(anon_client, f"/api/profiles/{big_table[3].id}/posts")

    nodes = plan_nodes(sql)
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], nodes
    assert {n.get("Index Name") for n in nodes} & {FEED_INDEX, AUTHOR_INDEX}


def test_updated_after_polling_uses_an_index(anon_client, big_table):
    with connection.cursor() as cursor:
        cursor.execute("select now() - interval '30 seconds'")
        (since,) = cursor.fetchone()

    sql, _ = posts_query(anon_client, "/api/posts/", {"updated_after": since.isoformat()})

    nodes = plan_nodes(sql)
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], nodes
