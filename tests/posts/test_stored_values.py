"""Reads survive any timestamp Postgres can store, even ones Python's datetime cannot hold.

The range constraints keep such values out now, but a row written before them (or by an owner
who dropped them) must never make the feed, a post or the admin fail for everyone.
"""

import pytest
from django.db import connection
from django.urls import reverse

from posts.models import Post
from tests.factories import make_post

FAR_FUTURE = "9999-12-31T23:59:59.999999Z"  # how an unloadable future timestamp is shown
FAR_PAST = "0001-01-01T00:00:00Z"


def store_raw(post: Post, column: str, value: str) -> None:
    """Write a timestamp as the owner, past the range constraint (dropped in this test only)."""
    with connection.cursor() as cursor:
        cursor.execute(f"alter table posts drop constraint if exists posts_{column}_range")
        cursor.execute(f"update posts set {column} = %s where id = %s", [value, post.id])  # noqa: S608


def raw_text(post: Post, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"select {column}::text from posts where id = %s", [post.id])  # noqa: S608
        return cursor.fetchone()[0]


@pytest.fixture
def poisoned(author):
    """A published post whose updated_at is infinity, and a healthy one."""
    healthy = make_post(author, published=True, title="Healthy")
    bad = make_post(author, published=True, title="Poisoned")
    store_raw(bad, "updated_at", "infinity")
    return bad, healthy


def test_feed_shows_a_post_with_an_infinite_updated_at(anon_client, poisoned):
    bad, healthy = poisoned

    response = anon_client.get("/api/posts/")

    assert response.status_code == 200
    shown = {post["id"]: post for post in response.json()["results"]}
    assert set(shown) == {str(bad.id), str(healthy.id)}
    assert shown[str(bad.id)]["updated_at"] == FAR_FUTURE
    assert shown[str(healthy.id)]["updated_at"] != FAR_FUTURE
    assert raw_text(bad, "updated_at") == "infinity"  # shown, not rewritten by a read


def test_post_with_an_infinite_updated_at_is_readable(anon_client, poisoned):
    bad, _ = poisoned

    response = anon_client.get(f"/api/posts/{bad.id}")

    assert response.status_code == 200
    assert response.json()["title"] == "Poisoned"
    assert response.json()["updated_at"] == FAR_FUTURE
    assert raw_text(bad, "updated_at") == "infinity"


@pytest.mark.parametrize(
    ("value", "shown"),
    [("-infinity", FAR_PAST), ("10000-01-01 00:00:00+00", FAR_FUTURE)],
)
def test_feed_shows_a_post_created_outside_pythons_range(anon_client, author, value, shown):
    post = make_post(author, published=True)
    store_raw(post, "created_at", value)

    response = anon_client.get("/api/posts/")

    assert response.status_code == 200
    assert [(p["id"], p["created_at"]) for p in response.json()["results"]] == [
        (str(post.id), shown)
    ]


def test_author_lists_own_posts_with_an_infinite_updated_at(author_client, poisoned):
    response = author_client.get("/api/posts/me")

    assert response.status_code == 200
    assert len(response.json()["results"]) == 2


def test_admin_changelist_lists_a_post_with_infinite_timestamps(admin_client, poisoned):
    bad, healthy = poisoned
    store_raw(bad, "created_at", "infinity")

    response = admin_client.get(reverse("admin:posts_post_changelist"))

    assert response.status_code == 200
    assert set(response.context["cl"].result_list) == {bad, healthy}


def test_admin_opens_a_post_with_an_infinite_updated_at(admin_client, poisoned):
    bad, _ = poisoned

    response = admin_client.get(reverse("admin:posts_post_change", args=[bad.id]))

    assert response.status_code == 200
    assert b"Poisoned" in response.content
