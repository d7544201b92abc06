"""Supabase's anonymous sign-ins on the API's endpoints: they read, they write only if allowed."""

import io

import pytest
from PIL import Image

from posts.models import Post
from profiles.models import Profile
from tests.factories import make_post

REFUSED = {"detail": "Sign in with a permanent account to do this.", "code": "anonymous_sign_in"}


@pytest.fixture
def anonymous(author):
    """The author's profile, signed in through Supabase's anonymous sign-in."""
    return author


@pytest.fixture
def anonymous_client(client_for, anonymous):
    return client_for(anonymous, is_anonymous=True, email="")


@pytest.fixture
def own_post(anonymous):
    """A post the anonymous user owns (written while writes were allowed)."""
    return make_post(anonymous, published=True, title="Mine")


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def test_anonymous_sign_in_cannot_create_a_post(anonymous_client, anonymous, other_user):
    response = anonymous_client.post("/api/posts/", {"title": "Spam"}, format="json")

    assert response.status_code == 403
    assert response.json() == REFUSED
    assert not Post.objects.exists()


def test_anonymous_sign_in_cannot_change_its_own_post(anonymous_client, own_post):
    response = anonymous_client.patch(
        f"/api/posts/{own_post.id}", {"title": "Changed"}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == REFUSED
    own_post.refresh_from_db()
    assert own_post.title == "Mine"


def test_anonymous_sign_in_cannot_delete_its_own_post(anonymous_client, own_post):
    response = anonymous_client.delete(f"/api/posts/{own_post.id}")

    assert response.status_code == 403
    assert response.json() == REFUSED
    assert Post.objects.filter(id=own_post.id).exists()


@pytest.mark.parametrize("method", ["patch", "put"])
def test_anonymous_sign_in_cannot_change_its_profile(anonymous_client, anonymous, method):
    response = getattr(anonymous_client, method)(
        "/api/profiles/me", {"name": "Renamed"}, format="json"
    )

    assert response.status_code == 403
    assert response.json() == REFUSED
    assert Profile.objects.get(id=anonymous.id).name == "Author"


def test_anonymous_sign_in_cannot_upload_an_avatar(anonymous_client, anonymous):
    upload = io.BytesIO(png())
    upload.name = "me.png"

    response = anonymous_client.post("/api/profiles/me/avatar", {"file": upload})

    assert response.status_code == 403
    assert response.json() == REFUSED
    assert Profile.objects.get(id=anonymous.id).avatar_url is None


def test_anonymous_sign_in_cannot_remove_an_avatar(anonymous_client, anonymous, settings):
    url = f"{settings.SUPABASE_URL}/storage/v1/object/public/avatars/{anonymous.id}/avatar.png"
    Profile.objects.filter(id=anonymous.id).update(avatar_url=url)

    response = anonymous_client.delete("/api/profiles/me/avatar")

    assert response.status_code == 403
    assert response.json() == REFUSED
    assert Profile.objects.get(id=anonymous.id).avatar_url == url


def test_anonymous_sign_in_reads_its_profile_and_posts(anonymous_client, anonymous, own_post):
    profile = anonymous_client.get("/api/profiles/me")
    posts = anonymous_client.get("/api/posts/me")

    assert profile.status_code == 200
    assert profile.json()["id"] == str(anonymous.id)
    assert posts.status_code == 200
    assert [post["id"] for post in posts.json()["results"]] == [str(own_post.id)]


def test_anonymous_sign_in_writes_when_the_setting_allows_them(
    anonymous_client, anonymous, settings
):
    settings.API_ANONYMOUS_SIGN_IN_WRITES = True

    response = anonymous_client.post("/api/posts/", {"title": "Allowed"}, format="json")

    assert response.status_code == 201
    assert Post.objects.get(id=response.json()["id"]).author_id == anonymous.id


def test_permanent_account_creates_posts(author_client, author):
    response = author_client.post("/api/posts/", {"title": "Hello"}, format="json")

    assert response.status_code == 201
    assert Post.objects.get(id=response.json()["id"]).author_id == author.id
