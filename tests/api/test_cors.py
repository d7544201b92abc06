"""CORS (django-cors-headers): browsers on CORS_ALLOWED_ORIGINS may call the API."""

import pytest

from posts.models import Post

ALLOWED = "https://app.example.com"


@pytest.fixture
def allowed_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]
    return ALLOWED


def preflight(client, origin: str, method: str = "POST", path: str = "/api/posts/"):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/api/posts/"), ("GET", "/api/posts/me"), ("PATCH", "/api/profiles/me")],
)
def test_preflight_from_an_allowed_origin_allows_the_authorization_header(
    anon_client, allowed_origin, method, path
):
    response = preflight(anon_client, allowed_origin, method, path)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    allowed_headers = response["Access-Control-Allow-Headers"].replace(" ", "").split(",")
    assert "authorization" in allowed_headers
    assert "content-type" in allowed_headers
    assert method in response["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Credentials" not in response  # bearer tokens, not cookies


def test_preflight_from_another_origin_gets_no_cors_headers(anon_client, allowed_origin):
    response = preflight(anon_client, "https://evil.example.com")

    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Headers" not in response


def test_preflight_writes_nothing(anon_client, allowed_origin, db):
    preflight(anon_client, allowed_origin)

    assert not Post.objects.exists()


def test_actual_request_from_an_allowed_origin_exposes_retry_after(author_client, allowed_origin):
    response = author_client.get("/api/posts/me", HTTP_ORIGIN=allowed_origin)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    exposed = {h.strip().lower() for h in response["Access-Control-Expose-Headers"].split(",")}
    assert {"retry-after", "www-authenticate"} <= exposed


def test_error_responses_carry_cors_headers_too(anon_client, allowed_origin):
    response = anon_client.get("/api/posts/me", HTTP_ORIGIN=allowed_origin)

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == ALLOWED


def test_actual_request_from_another_origin_gets_no_cors_header(anon_client, allowed_origin, db):
    response = anon_client.get("/api/posts/", HTTP_ORIGIN="https://evil.example.com")

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_no_origin_is_allowed_by_default(anon_client, db):
    response = preflight(anon_client, ALLOWED)

    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.parametrize(("path", "status"), [("/health", "healthy"), ("/health/ready", "ready")])
def test_health_answers_browsers_on_allowed_origins(client, allowed_origin, db, path, status):
    response = client.get(path, HTTP_ORIGIN=allowed_origin)

    assert response.status_code == 200
    assert response.json()["status"] == status
    assert response["Access-Control-Allow-Origin"] == ALLOWED


def test_health_gets_no_cors_header_for_other_origins(client, allowed_origin, db):
    response = client.get("/health", HTTP_ORIGIN="https://evil.example.com")

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response


def test_cors_is_limited_to_the_api_and_health(client, allowed_origin, db):
    response = client.options(
        "/admin/login/",
        HTTP_ORIGIN=allowed_origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )

    assert "Access-Control-Allow-Origin" not in response
