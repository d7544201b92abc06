"""The API's error bodies: `{"detail", "code"}` for every refusal, DRF's field map for 400s."""

import pytest

from posts.models import Post


def test_malformed_json_is_400_parse_error(author_client):
    response = author_client.generic(
        "POST", "/api/posts/", b'{"title": ', content_type="application/json"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == "parse_error"
    assert body["detail"].startswith("JSON parse error")
    assert set(body) == {"detail", "code"}
    assert not Post.objects.exists()


@pytest.mark.parametrize("raw", [b"\xff\xfe", b'{"title": NaN}'])
def test_json_that_is_not_utf8_or_not_strict_is_400_parse_error(author_client, raw):
    response = author_client.generic("POST", "/api/posts/", raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert not Post.objects.exists()


@pytest.mark.parametrize(
    ("raw", "errors"),
    [
        (b"[]", {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
        (b'"title"', {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}),
        (b"null", {"non_field_errors": ["No data provided"]}),
    ],
)
def test_json_that_is_not_an_object_is_400_with_field_errors(author_client, raw, errors):
    response = author_client.generic("POST", "/api/posts/", raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == errors
    assert not Post.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("title=Hello", "application/x-www-form-urlencoded"),
        ("title: Hello", "text/plain"),
        ("<title>Hello</title>", "application/xml"),
    ],
)
def test_body_that_is_not_json_is_415_json(author_client, body, content_type):
    response = author_client.generic("POST", "/api/posts/", body, content_type=content_type)

    assert response.status_code == 415
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": f'Unsupported media type "{content_type}" in request.',
        "code": "unsupported_media_type",
    }
    assert not Post.objects.exists()


def test_multipart_form_is_415_json(author_client):
    response = author_client.post("/api/posts/", {"title": "Hello"}, format="multipart")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert not Post.objects.exists()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/posts/"),
        ("put", "/api/posts"),
        ("patch", "/api/posts/"),
        ("post", "/api/posts/me"),
        ("delete", "/api/posts/me/"),
        ("post", "/api/profiles/me"),
        ("delete", "/api/profiles/me/"),
    ],
)
def test_wrong_method_is_405_json(author_client, author_posts, method, path):
    before = list(Post.objects.values())

    response = getattr(author_client, method)(path, {}, format="json")

    assert response.status_code == 405
    assert response.json() == {
        "detail": f'Method "{method.upper()}" not allowed.',
        "code": "method_not_allowed",
    }
    assert list(Post.objects.values()) == before


@pytest.mark.parametrize(
    ("method", "path"), [("post", "/api/profiles/{id}"), ("delete", "/api/profiles/{id}/posts")]
)
def test_wrong_method_on_public_profiles_is_405_json(anon_client, author, method, path):
    response = getattr(anon_client, method)(path.format(id=author.id))

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_wrong_method_lists_the_allowed_ones(author_client, db):
    response = author_client.delete("/api/posts/")

    assert response.status_code == 405
    assert set(response["Allow"].replace(" ", "").split(",")) == {"GET", "POST", "HEAD", "OPTIONS"}
