"""Profile serializers through the API: the name is the only field a user may change."""

import pytest

from profiles.models import Profile
from profiles.serializers import MyProfileSerializer, PublicProfileSerializer
from tests.support.grants import granted_columns


def stored(profile: Profile) -> dict:
    return Profile.objects.filter(pk=profile.pk).values().get()


def patch(client, body: dict):
    return client.patch("/api/profiles/me", body, format="json")


def test_name_is_stored_trimmed(author_client, author):
    response = patch(author_client, {"name": "  Ada Lovelace \n"})

    assert response.status_code == 200
    assert response.json()["name"] == "Ada Lovelace"
    assert stored(author)["name"] == "Ada Lovelace"


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_blank_name_is_stored_as_null(author_client, author, blank):
    response = patch(author_client, {"name": blank})

    assert response.status_code == 200
    assert response.json()["name"] is None
    assert stored(author)["name"] is None


def test_name_of_100_chars_is_accepted(author_client, author):
    response = patch(author_client, {"name": " " + "n" * 100 + " "})

    assert response.status_code == 200
    assert stored(author)["name"] == "n" * 100


@pytest.mark.parametrize(
    ("name", "errors"),
    [
        ("n" * 101, ["Ensure this field has no more than 100 characters."]),
        ("Ada\x00", ["Null characters are not allowed."]),
        (["Ada"], ["Not a valid string."]),
        ({"first": "Ada"}, ["Not a valid string."]),
    ],
    ids=["101-chars", "nul", "list", "object"],
)
def test_invalid_name_is_400_and_leaves_the_profile_unchanged(author_client, author, name, errors):
    before = stored(author)

    response = patch(author_client, {"name": name})

    assert response.status_code == 400
    assert response.json() == {"name": errors}
    assert stored(author) == before


def test_id_email_avatar_and_timestamps_in_the_body_are_ignored(author_client, author, other_user):
    before = stored(author)
    body = {
        "name": "Ada",
        "id": str(other_user.id),
        "email": "attacker@example.com",
        "avatar_url": "https://evil.example.com/a.png",
        "created_at": "2000-01-01T00:00:00Z",
        "updated_at": "2000-01-01T00:00:00Z",
    }

    response = patch(author_client, body)

    assert response.status_code == 200
    after = stored(author)
    assert after == before | {"name": "Ada", "updated_at": after["updated_at"]}
    assert after["updated_at"].year > 2000
    assert response.json()["email"] == "author@example.com"
    assert response.json()["avatar_url"] is None
    assert stored(other_user)["email"] == "other@example.com"


def test_email_comes_from_the_token(client_for, author):
    client = client_for(author, email="renamed@example.com")

    response = client.get("/api/profiles/me")

    assert response.status_code == 200
    assert response.json()["email"] == "renamed@example.com"
    assert stored(author)["email"] == "renamed@example.com"


def test_empty_patch_changes_nothing_but_is_ok(author_client, author):
    before = stored(author)

    response = patch(author_client, {})

    assert response.status_code == 200
    assert stored(author)["name"] == before["name"]


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_public_profile_shows_exactly_what_the_data_api_lets_anyone_read(anon_client, author, role):
    # The API and RLS agree: a supabase-js app shows the same fields GET /api/profiles/{id} does.
    response = anon_client.get(f"/api/profiles/{author.id}")

    assert response.status_code == 200
    assert set(response.json()) == set(PublicProfileSerializer.Meta.fields)
    assert set(PublicProfileSerializer.Meta.fields) == granted_columns("profiles", role, "SELECT")
    assert "email" not in granted_columns("profiles", role, "SELECT")


def test_only_the_name_is_editable_in_the_api_and_the_data_api(author):
    editable = {name for name, field in MyProfileSerializer().fields.items() if not field.read_only}

    assert editable == {"name"}
    assert granted_columns("profiles", "authenticated", "UPDATE") == editable
    assert granted_columns("profiles", "anon", "UPDATE") == set()
