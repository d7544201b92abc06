"""ETags and If-Match: a stale write is refused with 412, concurrent writers cannot both win."""

import threading

import pytest
from rest_framework.test import APIClient

from posts.models import Post
from profiles.models import Profile
from tests.factories import make_post
from tests.support.http import bearer


@pytest.fixture
def post(author):
    return make_post(author, published=True, title="Original")


def url(post) -> str:
    return f"/api/posts/{post.id}"


def test_reads_and_writes_carry_an_etag(author_client, post):
    read = author_client.get(url(post))
    written = author_client.patch(url(post), {"title": "Edited"}, format="json")

    assert read["ETag"].startswith('"')
    assert written["ETag"].startswith('"')
    assert read["ETag"] != written["ETag"]
    assert author_client.get(url(post))["ETag"] == written["ETag"]


def test_write_with_the_current_etag_succeeds(author_client, post):
    etag = author_client.get(url(post))["ETag"]

    response = author_client.patch(
        url(post), {"title": "Edited"}, format="json", HTTP_IF_MATCH=etag
    )

    assert response.status_code == 200
    post.refresh_from_db()
    assert post.title == "Edited"


@pytest.mark.parametrize("method", ["patch", "put"])
def test_write_with_a_stale_etag_is_412_and_changes_nothing(author_client, post, method):
    stale = author_client.get(url(post))["ETag"]
    Post.objects.filter(id=post.id).update(title="Changed by someone else")

    response = getattr(author_client, method)(
        url(post), {"title": "Mine"}, format="json", HTTP_IF_MATCH=stale
    )

    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    post.refresh_from_db()
    assert post.title == "Changed by someone else"


def test_delete_with_a_stale_etag_is_412_and_keeps_the_post(author_client, post):
    stale = author_client.get(url(post))["ETag"]
    Post.objects.filter(id=post.id).update(content="newer")

    response = author_client.delete(url(post), HTTP_IF_MATCH=stale)

    assert response.status_code == 412
    assert Post.objects.filter(id=post.id).exists()


def test_if_match_star_and_lists_are_understood(author_client, post):
    etag = author_client.get(url(post))["ETag"]

    star = author_client.patch(url(post), {"title": "A"}, format="json", HTTP_IF_MATCH="*")
    listed = author_client.patch(
        url(post), {"title": "B"}, format="json", HTTP_IF_MATCH=f'"other", {star["ETag"]}'
    )

    assert star.status_code == 200
    assert listed.status_code == 200
    assert etag != listed["ETag"]


def test_star_among_etags_is_no_wildcard(author_client, post):
    stale = author_client.get(url(post))["ETag"]
    Post.objects.filter(id=post.id).update(title="Changed by someone else")

    # RFC 9110 §13.1.1: If-Match is "*" alone or a list of tags; a malformed list fails closed.
    response = author_client.patch(
        url(post), {"title": "Mine"}, format="json", HTTP_IF_MATCH=f"*, {stale}"
    )

    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    post.refresh_from_db()
    assert post.title == "Changed by someone else"


def test_weak_etag_never_satisfies_if_match(author_client, post):
    etag = author_client.get(url(post))["ETag"]

    # If-Match compares strongly (RFC 9110 §8.8.3.2): W/"x" does not match "x".
    weak = author_client.patch(url(post), {"title": "A"}, format="json", HTTP_IF_MATCH=f"W/{etag}")
    strong = author_client.patch(url(post), {"title": "B"}, format="json", HTTP_IF_MATCH=etag)

    assert weak.status_code == 412
    assert weak.json()["code"] == "precondition_failed"
    assert strong.status_code == 200
    post.refresh_from_db()
    assert post.title == "B"


def test_if_match_does_not_let_others_in(other_user_client, post):
    etag = other_user_client.get(url(post))["ETag"]

    response = other_user_client.patch(url(post), {"title": "x"}, format="json", HTTP_IF_MATCH=etag)

    assert response.status_code == 403


def test_if_none_match_gives_304(anon_client, post):
    etag = anon_client.get(url(post))["ETag"]

    response = anon_client.get(url(post), HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304


def test_concurrent_writers_with_the_same_etag_cannot_both_win(committed_db, token_for, author):
    post = make_post(author, published=True, title="Original")
    token = token_for(author)
    etag = APIClient().get(url(post), **bearer(token))["ETag"]
    barrier = threading.Barrier(6)
    statuses = []

    def write(n: int) -> None:
        client = APIClient()
        barrier.wait()
        response = client.patch(
            url(post), {"title": f"Writer {n}"}, format="json", HTTP_IF_MATCH=etag, **bearer(token)
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200] + [412] * 5
    post.refresh_from_db()
    assert post.title.startswith("Writer ")


def test_profile_writes_honour_if_match(author_client, author):
    stale = author_client.get("/api/profiles/me")["ETag"]
    Profile.objects.filter(id=author.id).update(name="Renamed elsewhere")

    refused = author_client.patch(
        "/api/profiles/me", {"name": "Mine"}, format="json", HTTP_IF_MATCH=stale
    )
    fresh = author_client.get("/api/profiles/me")["ETag"]
    accepted = author_client.patch(
        "/api/profiles/me", {"name": "Mine"}, format="json", HTTP_IF_MATCH=fresh
    )

    assert refused.status_code == 412
    assert accepted.status_code == 200
    author.refresh_from_db()
    assert author.name == "Mine"


def test_if_match_is_documented(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path, methods in (
        ("/api/posts/{id}/", ("put", "patch", "delete")),
        ("/api/profiles/me/", ("put", "patch")),
    ):
        for method in methods:
            operation = schema["paths"][path][method]
            assert "If-Match" in [p["name"] for p in operation["parameters"]], (path, method)
            assert "412" in operation["responses"], (path, method)
