"""DRF's browsable API with DJANGO_DEBUG on, JSON only in production (the renderer setting)."""

import json

import pytest
from django.conf import settings
from django.db import connection

from tests.factories import make_post, make_profile
from tests.subprocess_django import run_python

# What browsers send for a page: HTML first, anything else accepted.
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def debug_env() -> dict[str, str]:
    """Return a development environment on the test database, as `make run` sets DJANGO_DEBUG."""
    database = connection.settings_dict
    return {
        "DJANGO_DEBUG": "true",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"postgres://{database['USER']}@/{database['NAME']}?host={database['HOST']}",
        "SUPABASE_JWT_SECRET": settings.SUPABASE_JWT_SECRET,
        "SUPABASE_JWKS_URL": "",
    }


def get_in_debug(path: str, accept: str, token: str | None = None) -> dict:
    """GET path in a fresh DJANGO_DEBUG process; return its status, content type and body."""
    headers = {"HTTP_ACCEPT": accept}
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    code = (
        "import json; from django.test import Client;"
        f"r = Client().get({path!r}, **{headers!r});"
        "print(json.dumps([r.status_code, r['Content-Type'], r.content.decode()]))"
    )
    result = run_python(debug_env(), code)
    assert result.returncode == 0, result.stderr
    status, content_type, body = json.loads(result.stdout.strip().splitlines()[-1])
    return {"status": status, "content_type": content_type, "body": body}


@pytest.fixture
def ada(committed_db):
    return make_profile("ada@example.com", name="Ada")


def test_production_answers_a_browser_with_json(client, ada):
    post = make_post(ada, published=True, title="Visible")

    response = client.get("/api/posts/", HTTP_ACCEPT=BROWSER_ACCEPT)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert [row["id"] for row in response.json()["results"]] == [str(post.id)]


def test_production_never_renders_html_even_when_only_html_is_acceptable(client, ada):
    make_post(ada, published=True)

    response = client.get("/api/posts/", HTTP_ACCEPT="text/html")

    # RFC 9110 §12.5.1: the server may refuse with 406; the refusal is JSON like every error.
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_acceptable"


def test_debug_renders_my_profile_as_a_page_for_a_bearer_token(ada, token_for):
    page = get_in_debug("/api/profiles/me/", BROWSER_ACCEPT, token_for(ada))

    assert page["status"] == 200
    assert page["content_type"].startswith("text/html")
    assert "Django REST framework" in page["body"]
    assert "ada@example.com" in page["body"]


def test_debug_renders_the_post_list_with_its_filters(ada):
    make_post(ada, published=True, title="A published post")
    draft = make_post(ada, published=False, title="A secret draft")

    page = get_in_debug("/api/posts/", BROWSER_ACCEPT)

    assert page["status"] == 200
    assert page["content_type"].startswith("text/html")
    assert "A published post" in page["body"]
    assert draft.title not in page["body"]


def test_debug_still_answers_json_clients_with_json(ada, token_for):
    answer = get_in_debug("/api/profiles/me/", "application/json", token_for(ada))

    assert answer["status"] == 200
    assert answer["content_type"] == "application/json"
    assert json.loads(answer["body"])["email"] == "ada@example.com"


def test_debug_renders_a_post_with_its_edit_form_for_its_author(ada, token_for):
    post = make_post(ada, published=False, title="My draft")

    page = get_in_debug(f"/api/posts/{post.id}/", BROWSER_ACCEPT, token_for(ada))

    assert page["status"] == 200
    assert page["content_type"].startswith("text/html")
    assert "My draft" in page["body"]
    assert 'data-method="PATCH"' in page["body"]
