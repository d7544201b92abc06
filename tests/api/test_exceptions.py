"""The API's error bodies: `{"detail", "code"}` for every refusal, DRF's field map for 400s."""

import logging

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


BOUNDARY = "Boundary7MA4YWxk"


def multipart(count: int, *, files: bool) -> bytes:
    """Return a multipart body with count text fields, or count one-byte files."""
    filename = '; filename="f{n}.png"' if files else ""
    part = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f{{n}}"{filename}\r\n\r\nx\r\n'
    return ("".join(part.format(n=n) for n in range(count)) + f"--{BOUNDARY}--\r\n").encode()


@pytest.mark.parametrize(
    "body",
    [multipart(1200, files=False), multipart(150, files=True)],
    ids=["more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS", "more files than ..._NUMBER_FILES"],
)
def test_form_over_djangos_limits_is_json_400_logged_below_error(
    author_client, author, body, caplog
):
    response = author_client.generic(
        "POST",
        "/api/profiles/me/avatar",
        body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "detail": "Too many fields or files in the form, or a field too large.",
        "code": "form_too_large",
    }
    author.refresh_from_db()
    assert author.avatar_url is None
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
