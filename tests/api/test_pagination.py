"""KeysetPagination over HTTP: complete walks both ways, page sizes, cursors clients tamper with."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from posts.models import Post

TIE = datetime(2024, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)
INVALID_CURSOR = {"cursor": ["Invalid cursor."]}
BAD_PAGE_SIZE = {"page_size": ["Must be a positive integer."]}


def publish(author, count: int, *, published: bool = True) -> list[Post]:
    return Post.objects.bulk_create(
        Post(author=author, title=f"Post {n}", published=published) for n in range(count)
    )


def feed_order() -> list[str]:
    """Return the published posts' ids in the order the feed must give them."""
    rows = Post.objects.filter(published=True).values_list("created_at", "id")
    return [str(row_id) for _, row_id in sorted(rows, reverse=True)]


def ids(page: dict) -> list[str]:
    return [post["id"] for post in page["results"]]


def get_page(client, url: str, params: dict | None = None) -> dict:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def walk(client, url: str, params: dict, direction: str = "next") -> list[dict]:
    """Follow `direction` links from the first page until they run out."""
    pages = [get_page(client, url, params)]
    while pages[-1][direction]:
        pages.append(get_page(client, pages[-1][direction]))
        assert len(pages) < 100, "the walk does not end"
    return pages


def cursor(value) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture
def feed_with_ties(author, other_user):
    """45 published posts (runs of equal created_at, as one transaction writes) and 5 drafts."""
    posts = publish(author, 30) + publish(other_user, 15)
    publish(author, 5, published=False)
    ordered = sorted(posts, key=lambda p: p.created_at)
    # Ties that straddle the 7-row page boundaries, plus a run at the very end.
    for start, stop, offset in [(3, 12, 0), (20, 30, 1), (40, 45, 2)]:
        Post.objects.filter(pk__in=[p.pk for p in ordered[start:stop]]).update(
            created_at=TIE + timedelta(days=offset)
        )
    return posts


def test_next_links_visit_every_published_post_once_in_order(anon_client, feed_with_ties):
    pages = walk(anon_client, "/api/posts/", {"page_size": 7})

    walked = [row_id for page in pages for row_id in ids(page)]
    assert [len(ids(page)) for page in pages] == [7, 7, 7, 7, 7, 7, 3]
    assert walked == feed_order()
    assert len(set(walked)) == 45
    assert pages[0]["previous"] is None
    assert all(page["previous"] for page in pages[1:])


def test_previous_links_walk_back_through_the_same_pages(anon_client, feed_with_ties):
    forward = walk(anon_client, "/api/posts/", {"page_size": 7})

    backward = [forward[-1]]
    while backward[-1]["previous"]:
        backward.append(get_page(anon_client, backward[-1]["previous"]))

    assert [ids(page) for page in reversed(backward)] == [ids(page) for page in forward]
    assert backward[-1]["previous"] is None
    assert all(page["next"] for page in backward[1:])


def test_posts_published_during_a_walk_neither_repeat_nor_hide_older_ones(
    anon_client, author, feed_with_ties
):
    expected = feed_order()
    pages = [get_page(anon_client, "/api/posts/", {"page_size": 7})]
    pages.append(get_page(anon_client, pages[-1]["next"]))

    newer = publish(author, 10)
    while pages[-1]["next"]:
        pages.append(get_page(anon_client, pages[-1]["next"]))

    walked = [row_id for page in pages for row_id in ids(page)]
    assert walked == expected
    assert not {str(p.id) for p in newer} & set(walked)


def test_previous_from_the_second_page_shows_posts_published_since(
    anon_client, author, feed_with_ties
):
    first = get_page(anon_client, "/api/posts/", {"page_size": 7})
    second = get_page(anon_client, first["next"])
    newer = publish(author, 2)

    back = get_page(anon_client, second["previous"])

    assert ids(back) == ids(first)
    assert back["previous"] is not None  # the two new posts are further back
    newest = get_page(anon_client, back["previous"])
    assert set(ids(newest)) == {str(p.id) for p in newer}
    assert newest["previous"] is None


def test_links_keep_the_filters_and_page_size(anon_client, author, other_user):
    publish(author, 5)
    publish(other_user, 5)

    pages = walk(anon_client, "/api/posts/", {"author": str(author.id), "page_size": 2})

    assert [len(ids(page)) for page in pages] == [2, 2, 1]
    assert f"author={author.id}" in pages[0]["next"]
    returned = {post["author_id"] for page in pages for post in page["results"]}
    assert returned == {str(author.id)}


def test_me_walks_drafts_and_published_posts(author_client, author, other_user):
    mine = publish(author, 4) + publish(author, 4, published=False)
    publish(other_user, 3)

    pages = walk(author_client, "/api/posts/me", {"page_size": 3})

    walked = [row_id for page in pages for row_id in ids(page)]
    assert sorted(walked) == sorted(str(p.id) for p in mine)
    assert len(walked) == 8


def test_profile_posts_walk_one_authors_published_posts(anon_client, author, other_user):
    mine = publish(author, 5)
    publish(author, 2, published=False)
    publish(other_user, 3)

    pages = walk(anon_client, f"/api/profiles/{author.id}/posts", {"page_size": 2})

    walked = [row_id for page in pages for row_id in ids(page)]
    assert sorted(walked) == sorted(str(p.id) for p in mine)


def test_default_page_is_20_rows(anon_client, author):
    publish(author, 21)

    page = get_page(anon_client, "/api/posts/")

    assert len(page["results"]) == 20
    assert page["next"] is not None


def test_page_size_above_100_gives_100_rows(anon_client, author):
    publish(author, 101)

    page = get_page(anon_client, "/api/posts/", {"page_size": 1000})

    assert len(page["results"]) == 100
    assert "page_size=1000" in page["next"]
    assert len(get_page(anon_client, page["next"])["results"]) == 1


def test_last_page_has_no_next_link(anon_client, author):
    publish(author, 3)

    page = get_page(anon_client, "/api/posts/", {"page_size": 3})

    assert len(page["results"]) == 3
    assert page["next"] is None
    assert page["previous"] is None


@pytest.mark.parametrize("size", ["0", "-1", "abc", "1.5", ""])
def test_page_size_that_is_not_a_positive_integer_is_400(anon_client, db, size):
    response = anon_client.get("/api/posts/", {"page_size": size})

    assert response.status_code == 400
    assert response.json() == BAD_PAGE_SIZE


@pytest.mark.parametrize(
    "value",
    [
        "garbage!",
        cursor(b"not json"),
        cursor(b"\xff\xfe"),
        cursor({"a": 1}),
        cursor(["2024-01-01T00:00:00+00:00", "not-a-uuid", 0]),
        cursor(["2024-01-01T00:00:00", str(uuid.uuid4()), 0]),  # no time zone
        cursor(["yesterday", str(uuid.uuid4()), 0]),
        cursor(["2024-01-01T00:00:00+00:00", None, 0]),
        cursor(["2024-01-01T00:00:00+00:00", str(uuid.uuid4())]),
    ],
    ids=[
        "not-base64",
        "not-json",
        "not-utf8",
        "object",
        "bad-uuid",
        "naive-time",
        "bad-time",
        "null-id",
        "two-items",
    ],
)
def test_tampered_cursor_is_400(anon_client, db, value):
    response = anon_client.get("/api/posts/", {"cursor": value})

    assert response.status_code == 400
    assert response.json() == INVALID_CURSOR


@pytest.mark.parametrize(
    "value",
    [
        cursor(["2024-01-01T00:00:00+00:00", 5, 0]),
        cursor(["2024-01-01T00:00:00+00:00", {"id": 1}, 0]),
        cursor(b"[" * 5000),
        cursor(["2024-01-01T00:00:00-20:00", str(uuid.uuid4()), 0]),
    ],
    ids=["numeric-id", "object-id", "deeply-nested", "offset-beyond-postgres"],
)
def test_malformed_cursor_is_400_never_500(anon_client, db, value):
    anon_client.raise_request_exception = False

    response = anon_client.get("/api/posts/", {"cursor": value})

    assert response.status_code == 400
    assert response.json() == INVALID_CURSOR
