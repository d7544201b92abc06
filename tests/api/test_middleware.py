"""RequestSizeLimitMiddleware: oversized or unmeasurable bodies are refused before any write."""

import json

import pytest

from posts.models import Post
from profiles.models import Profile
from tests.factories import make_post

LIMIT = 256 * 1024  # settings.API_MAX_BODY_BYTES
TOO_LARGE = {
    "detail": f"Request body too large (limit {LIMIT} bytes).",
    "code": "request_too_large",
}


def json_body(size: int, **fields) -> bytes:
    """Return a JSON object of exactly size bytes, padded with insignificant whitespace."""
    raw = json.dumps(fields, ensure_ascii=False).encode()
    assert len(raw) < size
    return raw[:-1] + b" " * (size - len(raw)) + b"}"


def send(client, method: str, path: str, body: bytes, **extra):
    return client.generic(method, path, body, content_type="application/json", **extra)


def test_body_of_exactly_the_limit_is_accepted(author_client):
    body = json_body(LIMIT, title="Big", content="é" * 100_000)  # 200,000 bytes of content

    response = send(author_client, "POST", "/api/posts/", body)

    assert response.status_code == 201
    assert len(Post.objects.get().content) == 100_000


def test_body_one_byte_over_the_limit_is_413_json_and_writes_nothing(author_client):
    body = json_body(LIMIT + 1, title="Big", content="é" * 100_000)

    response = send(author_client, "POST", "/api/posts/", body)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json() == TOO_LARGE
    assert not Post.objects.exists()


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_oversized_update_is_413_and_leaves_the_post_unchanged(author_client, author, method):
    post = make_post(author, published=True)
    before = Post.objects.filter(pk=post.pk).values().get()
    body = json_body(LIMIT + 1, title="Changed")

    response = send(author_client, method, f"/api/posts/{post.id}", body)

    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert Post.objects.filter(pk=post.pk).values().get() == before


def test_oversized_profile_update_is_413_and_leaves_the_profile_unchanged(author_client, author):
    body = json_body(LIMIT + 1, name="Changed")

    response = send(author_client, "PATCH", "/api/profiles/me", body)

    assert response.status_code == 413
    assert response.json() == TOO_LARGE
    assert Profile.objects.get(pk=author.pk).name == "Author"


def test_oversized_body_is_refused_before_authentication(anon_client, db):
    response = send(anon_client, "POST", "/api/posts/", json_body(LIMIT + 1, title="x"))

    assert response.status_code == 413
    assert response.json() == TOO_LARGE


@pytest.mark.parametrize("length", ["abc", "12abc", "1e3"])
def test_content_length_that_is_not_a_number_is_400_json(author_client, length):
    response = send(author_client, "POST", "/api/posts/", b'{"title": "x"}', CONTENT_LENGTH=length)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Content-Length is not a number.", "code": "bad_request"}
    assert not Post.objects.exists()


def test_limit_applies_only_under_the_api(client, db):
    response = client.generic(
        "POST", "/health", b"x" * (LIMIT + 1), content_type="application/octet-stream"
    )

    assert response.status_code == 405
