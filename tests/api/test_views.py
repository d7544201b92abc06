"""JSON answers for what no API view handles: unknown paths, bad ids, crashes."""

import uuid

import pytest
from rest_framework.test import APIClient

from posts.models import Post

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
