"""JSON answers for what no API view handles: unknown paths, bad ids, crashes."""

import uuid

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from posts.models import Post
from tests.factories import make_post

NOT_FOUND = {"detail": "Not found.", "code": "not_found"}
METHODS = ["get", "post", "put", "patch", "delete", "options", "head"]
UNKNOWN_PATHS = [
    "/api/",
    "/api/nope",
    "/api/nope/",
    "/api/posts/me/extra",
    "/api/profiles/me/extra/",
    "/api/posts/123",
    "/api/posts/not-a-uuid/",
    f"/api/posts/{uuid.uuid4().hex}",  # a UUID, but not in the canonical hyphenated form
    "/api/profiles/123",
    "/api/profiles/not-a-uuid/posts",
]


@pytest.fixture
def browser_like_client():
    """A client that, like a real one, gets no exemption from Django's CSRF check."""
    return APIClient(enforce_csrf_checks=True)


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
@pytest.mark.parametrize("method", METHODS)
def test_unknown_path_is_json_404_for_any_method(anon_client, db, method, path):
    response = getattr(anon_client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    if method != "head":
        assert response.json() == NOT_FOUND


@pytest.mark.parametrize("path", ["/api/nope/", "/api/posts/not-a-uuid"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unknown_path_is_json_404_for_writes_from_real_clients(
    browser_like_client, author, token_for, method, path
):
    browser_like_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(author)}")

    response = getattr(browser_like_client, method)(path, {"title": "x"}, format="json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND
    assert not Post.objects.exists()


def test_api_views_need_no_csrf_token_with_a_bearer_token(browser_like_client, author, token_for):
    browser_like_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_for(author)}")

    response = browser_like_client.post("/api/posts/", {"title": "x"}, format="json")

    assert response.status_code == 201
    assert Post.objects.get().author_id == author.id


@pytest.mark.urls("tests.api.urls")
def test_crash_under_the_api_is_json_500_without_details(db):
    client = APIClient(raise_request_exception=False)

    response = client.get("/api/crash")

    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Internal server error.", "code": "server_error"}
    assert b"hunter2" not in response.content


@pytest.mark.urls("tests.api.urls")
def test_crash_outside_the_api_is_djangos_html_500(db):
    client = APIClient(raise_request_exception=False)

    response = client.get("/crash")

    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert b"hunter2" not in response.content


NEWLINE_PATHS = [
    "/api/posts%0A",
    "/api/posts/%0A",
    "/api/nope%0a/x",
    "/api/auth/signin%0A",
    "/api/profiles/me%0A",
    "/api/%0A",
    "/api/posts/%0D%0A",
]


@pytest.mark.parametrize("path", NEWLINE_PATHS)
@pytest.mark.parametrize("method", METHODS)
def test_path_with_a_newline_is_json_404_for_any_method(author_client, author_posts, method, path):
    before = list(Post.objects.values())

    response = getattr(author_client, method)(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    if method != "head":
        assert response.json() == NOT_FOUND
    assert list(Post.objects.values()) == before


@pytest.mark.parametrize("path", ["/api/posts%0A", "/api/nope%0a/x"])
def test_path_with_a_newline_is_json_404_in_debug_mode_too(anon_client, db, settings, path):
    settings.DEBUG = True  # Django's technical 404 page replaces handler404 in debug

    response = anon_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND


@pytest.mark.urls("tests.api.urls")
@pytest.mark.parametrize(
    ("name", "status", "body"),
    [
        ("suspicious", 400, {"detail": "Bad request.", "code": "bad_request"}),
        (
            "forbidden",
            403,
            {
                "detail": "You do not have permission to perform this action.",
                "code": "permission_denied",
            },
        ),
        ("missing", 404, NOT_FOUND),
    ],
)
def test_refusal_outside_any_api_view_is_json_under_the_api(db, name, status, body):
    response = APIClient().get(f"/api/{name}")

    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == body
    assert b"hunter2" not in response.content


@pytest.mark.urls("tests.api.urls")
@pytest.mark.parametrize(
    ("name", "status"), [("suspicious", 400), ("forbidden", 403), ("missing", 404)]
)
def test_refusal_outside_the_api_keeps_djangos_html_page(db, name, status):
    response = APIClient().get(f"/{name}")

    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    assert b"hunter2" not in response.content


def test_request_for_an_unknown_host_is_json_400_under_the_api(anon_client, author_posts):
    response = anon_client.get("/api/posts/", HTTP_HOST="evil.example")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Bad request.", "code": "bad_request"}
    assert Post.objects.count() == 2


def api_paths(post_id, profile_id) -> list[str]:
    """Return every path the OpenAPI schema lists, ids filled in, and the documentation pages."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths = [
        path.replace("posts/{id}", f"posts/{post_id}").replace("{id}", str(profile_id))
        for path in schema["paths"]
    ]
    return [*paths, "/api/schema/", "/api/docs/", "/api/redoc/"]


def test_options_answers_on_every_api_path_in_autocommit(committed_db, client_for, author):
    # committed_db: no test transaction around each request, as in production.
    post = make_post(author, published=True)
    client = client_for(author)
    before = list(Post.objects.values())

    answers = {path: client.options(path) for path in api_paths(post.id, author.id)}

    assert {p: r.status_code for p, r in answers.items()} == dict.fromkeys(answers, 200)
    for path, response in answers.items():
        if path.startswith(("/api/docs/", "/api/redoc/")):
            assert set(response["Allow"].split(", ")) >= {"GET", "OPTIONS"}
        elif path != "/api/schema/":  # the schema view answers in its own OpenAPI formats
            assert response.json()["renders"] == ["application/json"]
    assert list(Post.objects.values()) == before
