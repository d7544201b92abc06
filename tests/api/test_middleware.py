"""API middleware: oversized bodies refused before any write; caching rules on every answer."""

import json

import pytest

from posts.models import Post
from profiles.models import Profile
from tests.factories import make_post
from tests.support.supabase_wiring import wired_fake_supabase

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


# -- CachePolicyMiddleware -------------------------------------------------------------------


def cache_control(response) -> set[str]:
    return {d.strip() for d in response.get("Cache-Control", "").split(",") if d.strip()}


def varies_on(response) -> set[str]:
    return {h.strip().lower() for h in response.get("Vary", "").split(",")}


@pytest.fixture
def supabase(db, settings):
    with wired_fake_supabase(settings) as fake:
        yield fake


@pytest.mark.parametrize(
    ("path", "personal"),
    [
        ("/api/profiles/me", "author@example.com"),
        ("/api/posts/me", "{draft}"),
        ("/api/posts/{draft}", "{draft}"),
    ],
)
def test_answer_to_a_signed_in_caller_is_private_and_varies_on_authorization(
    author_client, author_posts, path, personal
):
    _published, draft = author_posts

    response = author_client.get(path.format(draft=draft.id))

    assert response.status_code == 200
    assert personal.format(draft=draft.id) in response.content.decode()
    assert {"private", "no-cache"} <= cache_control(response)
    assert "public" not in cache_control(response)
    assert "authorization" in varies_on(response)


def test_revalidated_profile_keeps_its_private_headers_on_the_304(author_client, author):
    first = author_client.get("/api/profiles/me")

    response = author_client.get("/api/profiles/me", HTTP_IF_NONE_MATCH=first["ETag"])

    assert response.status_code == 304
    assert response.content == b""
    assert {"private", "no-cache"} <= cache_control(response)
    assert "authorization" in varies_on(response)


@pytest.mark.parametrize(
    "path", ["/api/posts/", "/api/posts/{published}", "/api/profiles/{author}"]
)
def test_anonymous_answer_stays_cacheable_and_varies_on_authorization(
    anon_client, author, author_posts, path
):
    published, draft = author_posts

    response = anon_client.get(path.format(published=published.id, author=author.id))

    assert response.status_code == 200
    assert str(draft.id) not in response.content.decode()
    assert cache_control(response) == set()
    assert "authorization" in varies_on(response)


def test_refused_token_answer_is_private(anon_client, author_posts):
    response = anon_client.get("/api/posts/", HTTP_AUTHORIZATION="Bearer not-a-token")

    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    assert {"private", "no-cache"} <= cache_control(response)


def test_answer_to_a_write_is_never_stored(author_client, author):
    response = author_client.post("/api/posts/", {"title": "Hello"}, format="json")

    assert response.status_code == 201
    assert "no-store" in cache_control(response)
    assert "private" in cache_control(response)
    assert Post.objects.get().author_id == author.id


def test_tokens_from_sign_in_are_never_stored(supabase, anon_client):
    supabase.create_user("ada@example.com", "correct horse battery")

    response = anon_client.post(
        "/api/auth/signin",
        {"email": "ada@example.com", "password": "correct horse battery"},
        format="json",
    )

    assert response.status_code == 200
    assert "access_token" in response.json()
    assert "no-store" in cache_control(response)
    assert "authorization" in varies_on(response)


def test_pages_outside_the_api_are_left_alone(anon_client, db):
    response = anon_client.get("/health")

    assert response.status_code == 200
    assert "authorization" not in varies_on(response)
    assert "private" not in cache_control(response)


# -- ConditionalGetMiddleware ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/posts/{id}", "/api/profiles/me"])
def test_get_with_a_stale_if_match_is_json_412(author_client, author_posts, path):
    published, _draft = author_posts
    before = list(Post.objects.values())

    response = author_client.get(path.format(id=published.id), HTTP_IF_MATCH='"stale"')

    assert response.status_code == 412
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "The resource changed since you read it (If-Match does not match its ETag).",
        "code": "precondition_failed",
    }
    assert list(Post.objects.values()) == before


def test_get_with_the_current_if_match_is_served(author_client, author_posts):
    published, _draft = author_posts
    etag = author_client.get(f"/api/posts/{published.id}")["ETag"]

    response = author_client.get(f"/api/posts/{published.id}", HTTP_IF_MATCH=etag)

    assert response.status_code == 200
    assert response.json()["id"] == str(published.id)
