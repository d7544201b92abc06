"""The Supabase scenarios against a real Supabase project (`pytest -m live`).

Skipped unless these are set (use a throw-away project: the tests create and delete a user):
  SUPABASE_LIVE_URL               https://<ref>.supabase.co
  SUPABASE_LIVE_ANON_KEY          the publishable (or legacy anon) key
  SUPABASE_LIVE_SERVICE_ROLE_KEY  the secret (or legacy service_role) key: creates the user
  SUPABASE_LIVE_JWT_SECRET        optional: the legacy JWT secret, for HS256 projects
The API runs in-process on the test database; the user's auth.users row is mirrored there,
since the test database is not the project's.
"""

import os
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient
from supabase import ClientOptions, create_client

from supabase_auth import keys
from supabase_auth.services import clients
from tests.factories import make_auth_user
from tests.support.images import image_file

LIVE = {
    name: os.environ.get(f"SUPABASE_LIVE_{name}", "")
    for name in ("URL", "ANON_KEY", "SERVICE_ROLE_KEY", "JWT_SECRET")
}

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        not (LIVE["URL"] and LIVE["ANON_KEY"] and LIVE["SERVICE_ROLE_KEY"]),
        reason="set SUPABASE_LIVE_URL, SUPABASE_LIVE_ANON_KEY and SUPABASE_LIVE_SERVICE_ROLE_KEY "
        "to run against a real Supabase project",
    ),
]


@pytest.fixture
def live_settings(settings):
    url = LIVE["URL"].rstrip("/")
    settings.SUPABASE_URL = url
    settings.SUPABASE_ANON_KEY = LIVE["ANON_KEY"]
    settings.SUPABASE_SERVICE_ROLE_KEY = LIVE["SERVICE_ROLE_KEY"]
    settings.SUPABASE_JWKS_URL = f"{url}/auth/v1/.well-known/jwks.json"
    settings.SUPABASE_JWT_ISSUER = f"{url}/auth/v1"
    settings.SUPABASE_JWT_SECRET = LIVE["JWT_SECRET"]
    settings.SUPABASE_HTTP_TIMEOUT = 10
    clients._pool = None
    yield settings
    clients._pool = None
    keys._jwks = None


@pytest.fixture
def live_user(live_settings, db):
    """A confirmed user made with the admin API, deleted afterwards."""
    admin = create_client(
        LIVE["URL"],
        LIVE["SERVICE_ROLE_KEY"],
        ClientOptions(auto_refresh_token=False, persist_session=False),
    )
    email = f"django-live-{uuid.uuid4().hex[:12]}@example.com"
    password = f"Live-{uuid.uuid4().hex}"
    created = admin.auth.admin.create_user(
        {"email": email, "password": password, "email_confirm": True}
    ).user
    make_auth_user(email, user_id=uuid.UUID(created.id))  # mirror into the test database
    yield {"email": email, "password": password, "id": created.id}
    admin.auth.admin.delete_user(created.id)


def test_signin_token_works_on_the_api_and_refresh_and_signout(live_user):
    client = APIClient()

    signed_in = client.post(
        "/api/auth/signin",
        {"email": live_user["email"], "password": live_user["password"]},
        format="json",
    )
    assert signed_in.status_code == 200, signed_in.content
    tokens = signed_in.json()
    assert tokens["user_id"] == live_user["id"]

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    me = client.get("/api/profiles/me")
    assert me.status_code == 200, me.content
    assert me.json()["email"] == live_user["email"]
    post = client.post("/api/posts/", {"title": "Live check", "published": False}, format="json")
    assert post.status_code == 201

    refreshed = APIClient().post(
        "/api/auth/refresh", {"refresh_token": tokens["refresh_token"]}, format="json"
    )
    assert refreshed.status_code == 200, refreshed.content
    assert refreshed.json()["refresh_token"] != tokens["refresh_token"]

    assert client.post("/api/auth/signout", {"scope": "global"}, format="json").status_code == 204


def test_wrong_password_is_401(live_user):
    response = APIClient().post(
        "/api/auth/signin",
        {"email": live_user["email"], "password": "wrong-password"},
        format="json",
    )

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"


def test_avatar_upload_when_the_bucket_is_set_up(live_user, live_settings):
    client = APIClient()
    tokens = client.post(
        "/api/auth/signin",
        {"email": live_user["email"], "password": live_user["password"]},
        format="json",
    ).json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")

    response = client.post(
        "/api/profiles/me/avatar",
        {"file": SimpleUploadedFile("avatar.png", image_file("PNG"), content_type="image/png")},
        format="multipart",
    )

    if response.status_code == 503 and response.json()["code"] == "storage_misconfigured":
        pytest.skip("no avatars bucket: run docs/storage-avatars.sql on the project")
    assert response.status_code == 200, response.content
    assert f"/avatars/{live_user['id']}/avatar.png?v=" in response.json()["avatar_url"]
    assert client.delete("/api/profiles/me/avatar").status_code == 204
