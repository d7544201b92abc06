"""Post list filters: author, search, time windows, drafts on `me`; bad values are 400s."""

from datetime import UTC, datetime

import pytest

from posts.models import Post
from tests.factories import make_post

JAN = datetime(2024, 1, 1, tzinfo=UTC)
FEB = datetime(2024, 2, 1, tzinfo=UTC)
MAR = datetime(2024, 3, 1, tzinfo=UTC)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [post["id"] for post in response.json()["results"]]


def dated(post: Post, *, created: datetime, updated: datetime | None = None) -> Post:
    Post.objects.filter(pk=post.pk).update(created_at=created, updated_at=updated or created)
    return post


@pytest.fixture
def monthly(author):
    """Published posts created (and last changed) on Jan 1, Feb 1 and Mar 1."""
    return {
        "jan": dated(make_post(author, published=True), created=JAN),
        "feb": dated(make_post(author, published=True), created=FEB),
        "mar": dated(make_post(author, published=True), created=MAR),
    }


def test_author_filter_keeps_one_authors_published_posts(anon_client, author, other_user):
    mine = make_post(author, published=True)
    make_post(author, published=False)
    make_post(other_user, published=True)

    response = anon_client.get("/api/posts/", {"author": str(author.id)})

    assert ids(response) == [str(mine.id)]


@pytest.mark.parametrize("query", ["needle", "NEEDLE", "nEeDlE"])
def test_search_matches_title_or_content_ignoring_case(anon_client, author, query):
    in_title = make_post(author, published=True, title="A Needle here")
    in_content = make_post(author, published=True)
    Post.objects.filter(pk=in_content.pk).update(content="hay, NEEDLE, hay")
    make_post(author, published=True, title="Only hay")

    response = anon_client.get("/api/posts/", {"search": query})

    assert set(ids(response)) == {str(in_title.id), str(in_content.id)}


def test_search_never_reveals_drafts(anon_client, author):
    make_post(author, published=False, title="secret needle")

    response = anon_client.get("/api/posts/", {"search": "needle"})

    assert ids(response) == []


def test_search_treats_like_wildcards_literally(anon_client, author):
    percent = make_post(author, published=True, title="100% sure")
    make_post(author, published=True, title="1000 sure")

    response = anon_client.get("/api/posts/", {"search": "0%"})

    assert ids(response) == [str(percent.id)]


def test_created_after_is_exclusive(anon_client, monthly):
    response = anon_client.get("/api/posts/", {"created_after": FEB.isoformat()})

    assert ids(response) == [str(monthly["mar"].id)]


def test_created_before_is_exclusive(anon_client, monthly):
    response = anon_client.get("/api/posts/", {"created_before": "2024-02-01T00:00:00Z"})

    assert ids(response) == [str(monthly["jan"].id)]


def test_created_window_combines_both_bounds(anon_client, monthly):
    response = anon_client.get(
        "/api/posts/",
        {"created_after": "2024-01-15T00:00:00+00:00", "created_before": "2024-02-15T00:00:00Z"},
    )

    assert ids(response) == [str(monthly["feb"].id)]


def test_created_after_honours_the_utc_offset(anon_client, monthly):
    # 2024-01-31T23:00-02:00 is Feb 1, 01:00 UTC: after the February post.
    response = anon_client.get("/api/posts/", {"created_after": "2024-01-31T23:00:00-02:00"})

    assert ids(response) == [str(monthly["mar"].id)]


def test_updated_after_finds_posts_changed_since(anon_client, monthly):
    Post.objects.filter(pk=monthly["jan"].pk).update(updated_at=MAR)

    response = anon_client.get("/api/posts/", {"updated_after": FEB.isoformat()})

    assert set(ids(response)) == {str(monthly["jan"].id), str(monthly["mar"].id)}


@pytest.mark.parametrize(("value", "kind"), [("true", "published"), ("false", "draft")])
def test_published_filter_on_me_picks_published_or_drafts(author_client, author_posts, value, kind):
    published, draft = author_posts

    response = author_client.get("/api/posts/me", {"published": value})

    assert ids(response) == [str({"published": published, "draft": draft}[kind].id)]


def test_me_filters_apply_to_the_callers_posts_only(author_client, author, other_user):
    mine = make_post(author, published=False, title="needle draft")
    make_post(other_user, published=True, title="needle elsewhere")

    response = author_client.get("/api/posts/me", {"search": "needle"})

    assert ids(response) == [str(mine.id)]


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"author": "not-a-uuid"}, {"author": ["Enter a valid UUID."]}),
        ({"author": "\x00"}, {"author": ["Enter a valid UUID."]}),
        ({"created_after": "yesterday"}, {"created_after": ["Enter a valid date/time."]}),
        (
            {"created_before": "2024-13-01T00:00:00Z"},
            {"created_before": ["Enter a valid date/time."]},
        ),
        (
            {"updated_after": "2024-01-01T25:00:00Z"},
            {"updated_after": ["Enter a valid date/time."]},
        ),
        (
            {"search": "x" * 201},
            {"search": ["Ensure this value has at most 200 characters (it has 201)."]},
        ),
    ],
    ids=["bad-uuid", "nul-uuid", "bad-datetime", "month-13", "hour-25", "search-201"],
)
def test_invalid_filter_is_400_with_the_field_error(anon_client, db, params, errors):
    response = anon_client.get("/api/posts/", params)

    assert response.status_code == 400
    assert response.json() == errors


def test_nul_in_search_is_400_with_one_error(anon_client, db):
    response = anon_client.get("/api/posts/", {"search": "a\x00b"})

    assert response.status_code == 400
    assert response.json() == {"search": ["Null characters are not allowed."]}


def test_published_filter_garbage_on_me_is_400(author_client, author_posts):
    response = author_client.get("/api/posts/me", {"published": "maybe"})

    assert response.status_code == 400
    assert set(response.json()) == {"published"}


@pytest.mark.parametrize("param", ["created_after", "created_before", "updated_after"])
def test_datetime_with_an_offset_postgres_cannot_store_is_not_a_500(anon_client, monthly, param):
    # RFC 3339 allows offsets up to 23:59, Postgres only up to 15:59. Either answer is fine:
    # the same instant in UTC (2024-01-01T20:00Z), or a 400 field error. Never a crash.
    anon_client.raise_request_exception = False
    same_instant = ids(anon_client.get("/api/posts/", {param: "2024-01-01T20:00:00Z"}))

    response = anon_client.get("/api/posts/", {param: "2024-01-01T00:00:00-20:00"})

    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        assert ids(response) == same_instant
    else:
        assert set(response.json()) == {param}
