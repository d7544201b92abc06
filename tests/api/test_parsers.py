"""Every JSON body any endpoint reads: malformed or hostile input is a JSON 400, never a 500."""

import json
import logging

import pytest
from django.core.cache import cache
from drf_spectacular.generators import SchemaGenerator

from api.parsers import JSONParser
from posts.models import Post
from profiles.models import Profile
from tests.factories import make_post

PARSE_ERROR = "parse_error"
LIMIT = JSONParser.max_depth


def nested(depth: int) -> list:
    """Return a list holding a list ... `depth` levels of lists in all."""
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


HOSTILE_BODIES = {
    "a thousand open arrays": b"[" * 1000,
    "a thousand open objects": b'{"a":' * 1000,
    "a thousand closed arrays": b"[" * 1000 + b"]" * 1000,
    "deep arrays in a field": b'{"title": ' + b"[" * 900 + b"]" * 900 + b', "scope": []}',
    "one level too deep": json.dumps({"title": nested(LIMIT)}).encode(),
    "NaN": b'{"title": NaN, "name": NaN, "email": NaN}',
    "Infinity": b'{"title": -Infinity}',
    "invalid UTF-8": b'{"title": "\xff\xfe"}',
    "a 5000-digit number": b'{"title": 1' + b"0" * 5000 + b"}",
    "truncated": b'{"title": "x"',
}


def json_operations() -> list[tuple[str, str]]:
    """Return (method, path) of every operation whose OpenAPI request body is JSON."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]


JSON_OPERATIONS = json_operations()


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()  # the auth endpoints' counters, shared by every request here
    yield
    cache.clear()


def snapshot() -> tuple[list, list]:
    return list(Post.objects.order_by("id").values()), list(Profile.objects.order_by("id").values())


def test_every_json_operation_is_covered():
    assert {
        ("POST", "/api/auth/signin/"),
        ("POST", "/api/posts/"),
        ("PUT", "/api/posts/{id}/"),
        ("PATCH", "/api/profiles/me/"),
    } <= set(JSON_OPERATIONS)


@pytest.mark.parametrize("body", HOSTILE_BODIES.values(), ids=HOSTILE_BODIES.keys())
@pytest.mark.parametrize(("method", "path"), JSON_OPERATIONS)
def test_hostile_json_is_400_parse_error_writing_and_logging_nothing(
    author_client, author, method, path, body, caplog
):
    post = make_post(author, published=True, title="Untouched")
    before = snapshot()

    response = author_client.generic(
        method, path.format(id=post.id), body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    error = response.json()
    assert error["code"] == PARSE_ERROR
    assert error["detail"].startswith("JSON parse error")
    assert snapshot() == before
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_nesting_at_the_limit_reaches_validation(author_client):
    body = json.dumps({"title": nested(LIMIT - 1)}).encode()

    response = author_client.generic("POST", "/api/posts/", body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"title": ["Not a valid string."]}
    assert not Post.objects.exists()


def test_flat_json_still_creates_a_post(author_client, author):
    body = json.dumps({"title": "Hello", "content": "[[[", "published": True}).encode()

    response = author_client.generic("POST", "/api/posts/", body, content_type="application/json")

    assert response.status_code == 201
    assert Post.objects.get().title == "Hello"
    assert Post.objects.get().author_id == author.id
