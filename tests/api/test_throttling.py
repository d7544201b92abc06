"""Rate limits (DRF throttles, configured by API_THROTTLE_ANON / API_THROTTLE_USER): 429 JSON."""

import json

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from posts.models import Post
from tests.subprocess_django import PRODUCTION_ENV, run_python


@pytest.fixture
def rates(settings, monkeypatch):
    """Return set_rates(anon=..., user=...): throttle at these rates, from an empty cache."""

    def set_rates(**scopes: str) -> None:
        throttling = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] | scopes
        settings.REST_FRAMEWORK = settings.REST_FRAMEWORK | {"DEFAULT_THROTTLE_RATES": throttling}
        # DRF copies the rates onto SimpleRateThrottle at import (a restart re-reads them), and
        # reloads only api_settings when REST_FRAMEWORK changes.
        monkeypatch.setattr(
            SimpleRateThrottle, "THROTTLE_RATES", api_settings.DEFAULT_THROTTLE_RATES
        )

    cache.clear()
    yield set_rates
    cache.clear()


def assert_throttled(response) -> None:
    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= 60
    assert response.json() == {
        "detail": f"Request was throttled. Expected available in {retry_after} seconds.",
        "code": "throttled",
    }


def test_fourth_anonymous_request_in_a_minute_is_429(anon_client, db, rates):
    rates(anon="3/minute")

    statuses = [anon_client.get("/api/posts/").status_code for _ in range(3)]
    response = anon_client.get("/api/posts/")

    assert statuses == [200, 200, 200]
    assert_throttled(response)


def test_anonymous_limit_does_not_apply_to_signed_in_users(anon_client, author_client, rates):
    rates(anon="3/minute")
    for _ in range(3):
        anon_client.get("/api/posts/")

    statuses = [author_client.get("/api/posts/").status_code for _ in range(5)]

    assert statuses == [200] * 5
    assert_throttled(anon_client.get("/api/posts/"))


def test_user_limit_counts_each_user_separately(author_client, other_user_client, rates):
    rates(user="2/minute")
    author_statuses = [author_client.get("/api/posts/me").status_code for _ in range(2)]

    throttled = author_client.get("/api/posts/me")
    other = other_user_client.get("/api/posts/me")

    assert author_statuses == [200, 200]
    assert_throttled(throttled)
    assert other.status_code == 200


def test_throttled_write_writes_nothing(author_client, rates):
    rates(user="1/minute")
    author_client.post("/api/posts/", {"title": "first"}, format="json")

    response = author_client.post("/api/posts/", {"title": "second"}, format="json")

    assert_throttled(response)
    assert list(Post.objects.values_list("title", flat=True)) == ["first"]


def test_no_limit_by_default(anon_client, db):
    cache.clear()

    statuses = {anon_client.get("/api/posts/").status_code for _ in range(30)}

    assert statuses == {200}


def test_api_throttle_anon_variable_sets_the_anonymous_rate(django_db_setup):
    # A fresh process reads the variable as a deployment would, against the test database.
    database = connection.settings_dict
    env = PRODUCTION_ENV | {
        "DATABASE_URL": (
            f"postgres://{database['USER']}@/{database['NAME']}?host={database['HOST']}"
        ),
        "API_THROTTLE_ANON": "2/minute",
    }
    code = (
        "import json; from django.test import Client; c = Client();"
        "r = [c.get('/api/posts/', secure=True) for _ in range(3)];"
        "print(json.dumps([[x.status_code, x.json()] for x in r]))"
    )

    result = run_python(env, code)

    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert [status for status, _ in answers] == [200, 200, 429]
    assert answers[2][1]["code"] == "throttled"
