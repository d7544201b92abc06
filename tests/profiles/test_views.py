"""Profile endpoints: the caller's own profile, anyone's public face and published posts."""

import uuid

import pytest

from profiles.models import Profile
from tests.factories import make_auth_user, make_post

PUBLIC_FIELDS = {"id", "name", "avatar_url", "created_at", "updated_at"}
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}


def iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


def stored(profile: Profile) -> dict:
    return Profile.objects.filter(pk=profile.pk).values().get()


def test_me_creates_the_profile_from_the_token_on_first_use(client_for, db):
    user = make_auth_user("new@example.com")
    client = client_for(user, user_metadata={"full_name": "  Grace Hopper "})

    response = client.get("/api/profiles/me")

    assert response.status_code == 200
    profile = Profile.objects.get(pk=user.id)
    assert (profile.email, profile.name, profile.avatar_url) == (
        "new@example.com",
        "Grace Hopper",
        None,
    )
    assert response.json() == {
        "id": str(user.id),
        "email": "new@example.com",
        "name": "Grace Hopper",
        "avatar_url": None,
        "created_at": iso(profile.created_at),
        "updated_at": iso(profile.updated_at),
    }


def test_me_returns_the_existing_profile_without_making_another(author_client, author):
    before = stored(author)

    first = author_client.get("/api/profiles/me")
    second = author_client.get("/api/profiles/me")

    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["email"] == "author@example.com"
    assert Profile.objects.filter(pk=author.pk).count() == 1
    assert stored(author) == before


def test_me_needs_a_token(anon_client, db):
    response = anon_client.get("/api/profiles/me")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert not Profile.objects.exists()


def test_token_of_a_user_missing_from_auth_users_is_401_and_creates_nothing(
    client_for, transactional_db
):
    # Committed, as in production: the refused insert must not poison a test transaction.
    ghost = Profile(id=uuid.uuid4(), email="ghost@example.com")  # never saved anywhere
    client = client_for(ghost)

    response = client.get("/api/profiles/me")

    assert response.status_code == 401
    assert response.json() == {"detail": "User no longer exists.", "code": "user_not_found"}
    assert not Profile.objects.filter(pk=ghost.id).exists()


def test_patch_changes_only_the_callers_name(author_client, author, other_user):
    other_before = stored(other_user)

    response = author_client.patch("/api/profiles/me", {"name": "Ada"}, format="json")

    assert response.status_code == 200
    assert response.json()["name"] == "Ada"
    assert stored(author)["name"] == "Ada"
    assert stored(other_user) == other_before


def test_put_replaces_the_name(author_client, author):
    response = author_client.put("/api/profiles/me/", {"name": "Ada"}, format="json")

    assert response.status_code == 200
    assert stored(author)["name"] == "Ada"


def test_public_profile_shows_public_fields_only(anon_client, author):
    response = anon_client.get(f"/api/profiles/{author.id}")

    assert response.status_code == 200
    assert response.json() == {
        "id": str(author.id),
        "name": "Author",
        "avatar_url": None,
        "created_at": iso(author.created_at),
        "updated_at": iso(author.updated_at),
    }
    assert "email" not in response.json()


@pytest.mark.parametrize("viewer", ["author_client", "other_user_client"])
def test_public_profile_hides_the_email_from_signed_in_users_too(request, author, viewer):
    client = request.getfixturevalue(viewer)

    response = client.get(f"/api/profiles/{author.id}/")

    assert response.status_code == 200
    assert set(response.json()) == PUBLIC_FIELDS
    assert b"author@example.com" not in response.content


def test_unknown_profile_is_json_404(anon_client, db):
    response = anon_client.get(f"/api/profiles/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_user_without_a_profile_yet_is_404(anon_client, db):
    user = make_auth_user()

    response = anon_client.get(f"/api/profiles/{user.id}")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("suffix", ["", "/posts"])
def test_non_uuid_profile_id_is_json_404(anon_client, db, suffix):
    response = anon_client.get(f"/api/profiles/not-a-uuid{suffix}")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


@pytest.mark.parametrize("viewer", ["anon_client", "author_client"])
def test_profile_posts_are_that_profiles_published_posts(request, author, other_user, viewer):
    client = request.getfixturevalue(viewer)
    older = make_post(author, published=True)
    newer = make_post(author, published=True)
    make_post(author, published=False)
    make_post(other_user, published=True)

    response = client.get(f"/api/profiles/{author.id}/posts")

    assert response.status_code == 200
    body = response.json()
    assert [p["id"] for p in body["results"]] == [str(newer.id), str(older.id)]
    assert {p["author_id"] for p in body["results"]} == {str(author.id)}
    assert (body["next"], body["previous"]) == (None, None)


def test_profile_without_published_posts_has_an_empty_list(anon_client, author):
    make_post(author, published=False)

    response = anon_client.get(f"/api/profiles/{author.id}/posts")

    assert response.status_code == 200
    assert response.json() == {"next": None, "previous": None, "results": []}


def test_posts_of_an_unknown_profile_are_json_404(anon_client, db):
    response = anon_client.get(f"/api/profiles/{uuid.uuid4()}/posts")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_profile_posts_reject_bad_page_size(anon_client, author):
    response = anon_client.get(f"/api/profiles/{author.id}/posts", {"page_size": "0"})

    assert response.status_code == 400
    assert response.json() == {"page_size": ["Must be a positive integer."]}


def test_me_costs_one_query(author_client, author, django_assert_num_queries):
    with django_assert_num_queries(1):  # authentication loads the profile the view returns
        response = author_client.get("/api/profiles/me")

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/profiles/me", "/api/profiles/me/"])
def test_options_on_my_profile_describes_it_in_autocommit(
    committed_db, client_for, author, other_user, path
):
    # committed_db: no test transaction around the request, as in production, where DRF's
    # metadata calling get_object() for PUT used to lock the row outside a transaction (500).
    before = [stored(author), stored(other_user)]

    response = client_for(author).options(path)

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "My Profile"
    assert body["actions"]["PUT"]["name"]["read_only"] is False
    assert body["actions"]["PUT"]["email"]["read_only"] is True
    assert [stored(author), stored(other_user)] == before


def test_options_on_my_profile_without_a_token_is_401(committed_db, anon_client, author):
    response = anon_client.options("/api/profiles/me/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
