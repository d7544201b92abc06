"""The request principal and its profile row: made from the token, keyed on sub, one query."""

import dataclasses
import datetime
import threading
import uuid

import pytest
from django.conf import settings
from django.db import connection
from rest_framework.test import APIClient

from profiles.models import Profile
from supabase_auth.users import SupabaseUser
from tests.factories import make_auth_user, make_profile
from tests.support.http import bearer

pytestmark = pytest.mark.urls("tests.supabase_auth.urls")

LONG_AGO = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)


def principal(response) -> SupabaseUser:
    return response.renderer_context["request"].user


def insert_session(session_id: uuid.UUID, user_id: uuid.UUID) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "insert into auth.sessions (id, user_id, created_at, updated_at, aal) "
            "values (%s, %s, now(), now(), 'aal1')",
            [session_id, user_id],
        )


def delete_session(session_id: uuid.UUID) -> None:
    with connection.cursor() as cursor:
        cursor.execute("delete from auth.sessions where id = %s", [session_id])


@pytest.fixture
def existing_profile(user):
    """The profile of `user`, last touched long ago."""
    Profile.objects.create(id=user.id, email=user.email, name="Kept Name")
    Profile.objects.filter(id=user.id).update(updated_at=LONG_AGO)
    return Profile.objects.get(id=user.id)


@pytest.fixture
def bystander():
    """Another user's profile, which no request here may touch."""
    profile = make_profile("bystander@example.com", name="Bystander")
    Profile.objects.filter(id=profile.id).update(updated_at=LONG_AGO)
    return Profile.objects.get(id=profile.id)


def assert_untouched(profile: Profile) -> None:
    current = Profile.objects.get(id=profile.id)
    assert (current.email, current.name, current.updated_at) == (
        profile.email,
        profile.name,
        profile.updated_at,
    )


# --- the profile row ----------------------------------------------------------------------


def own_avatar_url(user_id, name: str = "avatar.png") -> str:
    """Return a URL of the configured avatar bucket, in the user's own folder."""
    bucket = settings.SUPABASE_AVATARS_BUCKET
    return f"{settings.SUPABASE_URL}/storage/v1/object/public/{bucket}/{user_id}/{name}"


def test_first_request_creates_the_profile_from_the_token(api_client, make_token, user, bystander):
    avatar = own_avatar_url(user.id, "avatar.webp?v=0a1b2c")
    token = make_token(user_metadata={"full_name": "Ada Lovelace", "avatar_url": avatar})

    response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    assert response.json()["profile"] == {
        "id": str(user.id),
        "email": "user@example.com",
        "name": "Ada Lovelace",
        "avatar_url": avatar,
    }
    profile = Profile.objects.get(id=user.id)
    assert (profile.email, profile.name, profile.avatar_url) == (
        "user@example.com",
        "Ada Lovelace",
        avatar,
    )
    assert Profile.objects.count() == 2
    assert_untouched(bystander)


@pytest.mark.parametrize(
    "avatar",
    [
        "javascript:alert(1)",
        "https://lh3.googleusercontent.com/a/photo.jpg",
        "{bucket_url}/{bystander}/avatar.png",
        "{bucket_url}/{user}/avatar.svg",
    ],
    ids=["javascript", "oauth-provider", "another-users-folder", "not-an-avatar-file"],
)
def test_metadata_avatar_outside_the_users_own_bucket_folder_is_not_copied(
    api_client, make_token, user, bystander, avatar
):
    # user_metadata is the user's to edit: `javascript:alert(1)` was served as a public avatar.
    bucket_url = own_avatar_url("x").rsplit("/", 2)[0]
    value = avatar.format(bucket_url=bucket_url, user=user.id, bystander=bystander.id)
    token = make_token(user_metadata={"full_name": "Ada", "avatar_url": value, "picture": value})

    response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    assert response.json()["profile"]["avatar_url"] is None
    assert Profile.objects.get(id=user.id).avatar_url is None
    assert Profile.objects.get(id=user.id).name == "Ada"
    assert_untouched(bystander)


@pytest.mark.parametrize(
    ("metadata", "name", "avatar_url"),
    [
        ({"name": "Ada", "picture": "{own}"}, "Ada", "{own}"),
        ({"full_name": "  ", "name": "Ada"}, "Ada", None),
        (
            {"full_name": 42, "name": "Ada", "avatar_url": ["x"], "picture": "{own}"},
            "Ada",
            "{own}",
        ),
        ({}, None, None),
    ],
    ids=["name_and_picture", "blank_full_name", "wrong_types", "none"],
)
def test_profile_name_and_avatar_fall_back_across_provider_fields(
    api_client, make_token, user, metadata, name, avatar_url
):
    own = own_avatar_url(user.id)
    metadata = {k: v.format(own=own) if isinstance(v, str) else v for k, v in metadata.items()}

    response = api_client.get("/whoami", **bearer(make_token(user_metadata=metadata)))

    assert response.status_code == 200
    profile = Profile.objects.get(id=user.id)
    assert (profile.name, profile.avatar_url) == (name, avatar_url and avatar_url.format(own=own))
    assert response.json()["profile"]["name"] == name


def test_changed_email_is_synced_to_the_profile(
    api_client, make_token, user, existing_profile, bystander
):
    token = make_token(email="new-address@example.com")

    response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    assert response.json()["profile"]["email"] == "new-address@example.com"
    profile = Profile.objects.get(id=user.id)
    assert profile.email == "new-address@example.com"
    assert profile.updated_at > LONG_AGO
    assert profile.name == "Kept Name"  # names are the user's to edit, never overwritten
    assert_untouched(bystander)


def test_unchanged_email_does_not_write_the_profile(api_client, make_token, user, existing_profile):
    response = api_client.get("/whoami", **bearer(make_token()))

    assert response.status_code == 200
    assert_untouched(existing_profile)


def test_profile_is_never_matched_by_email(api_client, make_token):
    first = make_profile("shared@example.com", name="First")
    second = make_auth_user("shared@example.com")
    token = make_token(sub=str(second.id), email="shared@example.com")

    response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    assert response.json()["profile"]["id"] == str(second.id)
    assert Profile.objects.filter(email="shared@example.com").count() == 2
    assert Profile.objects.get(id=first.id).name == "First"


# --- the principal ------------------------------------------------------------------------


def test_principal_is_immutable(api_client, make_token):
    user = principal(api_client.get("/whoami", **bearer(make_token())))

    with pytest.raises(dataclasses.FrozenInstanceError):
        user.claims = None
    with pytest.raises(dataclasses.FrozenInstanceError):
        user.claims.email = "someone-else@example.com"
    with pytest.raises(TypeError):
        user.app_metadata["role"] = "admin"


def test_principal_cannot_be_made_staff(api_client, make_token):
    user = principal(api_client.get("/whoami", **bearer(make_token())))

    # Not a dataclass field: Python 3.11's frozen+slots __setattr__ raises TypeError here.
    with pytest.raises((dataclasses.FrozenInstanceError, AttributeError, TypeError)):
        user.is_staff = True

    assert user.is_staff is False


def test_principal_is_never_staff(api_client, make_token, db):
    admin = make_auth_user("admin@example.com")
    token = make_token(
        sub=str(admin.id),
        email="admin@example.com",
        app_metadata={"provider": "email", "role": "admin", "roles": ["admin"]},
    )

    response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    user = principal(response)
    assert (user.is_staff, user.is_superuser) == (False, False)
    assert user.id == admin.id


# --- one query per request ----------------------------------------------------------------


def test_known_user_costs_one_query(
    api_client, make_token, existing_profile, django_assert_num_queries
):
    token = make_token()

    with django_assert_num_queries(1):
        response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    assert_untouched(existing_profile)


def test_new_user_costs_one_query(api_client, make_token, user, django_assert_num_queries):
    token = make_token()

    with django_assert_num_queries(1):
        response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    assert Profile.objects.filter(id=user.id).count() == 1


def test_changed_email_costs_one_query(
    api_client, make_token, existing_profile, django_assert_num_queries
):
    token = make_token(email="moved@example.com")

    with django_assert_num_queries(1):
        response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    assert Profile.objects.get(id=existing_profile.id).email == "moved@example.com"


def test_concurrent_first_requests_create_one_profile(committed_db, make_token, user):
    token = make_token()
    barrier = threading.Barrier(8)
    statuses, ids = [], []

    def first_request() -> None:
        try:
            barrier.wait()
            response = APIClient().get("/whoami", **bearer(token))
            statuses.append(response.status_code)
            ids.append(response.json().get("id"))
        finally:
            connection.close()

    threads = [threading.Thread(target=first_request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 8
    assert ids == [str(user.id)] * 8
    assert Profile.objects.filter(id=user.id).count() == 1


# --- sessions (SUPABASE_AUTH_CHECK_SESSION) -----------------------------------------------


def test_live_session_is_accepted(api_client, make_token, user, django_assert_num_queries):
    session_id = uuid.uuid4()
    insert_session(session_id, user.id)
    token = make_token(session_id=str(session_id))

    with django_assert_num_queries(1):
        response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    assert response.json()["session_id"] == str(session_id)
    assert Profile.objects.filter(id=user.id).exists()


def test_ended_session_is_refused(
    api_client, make_token, user, existing_profile, django_assert_num_queries
):
    session_id = uuid.uuid4()
    insert_session(session_id, user.id)
    assert (
        api_client.get("/whoami", **bearer(make_token(session_id=str(session_id)))).status_code
        == 200
    )
    delete_session(session_id)
    token = make_token(session_id=str(session_id), email="changed@example.com")

    with django_assert_num_queries(1):
        response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 401
    assert response.json() == {"detail": "Session has ended.", "code": "token_revoked"}
    assert 'error="invalid_token"' in response["WWW-Authenticate"]
    assert_untouched(existing_profile)  # a signed-out token does not sync the email either


def test_ended_session_of_a_new_user_creates_no_profile(api_client, make_token, user):
    token = make_token(session_id=str(uuid.uuid4()))

    response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    assert not Profile.objects.filter(id=user.id).exists()


def test_token_without_session_is_refused_when_sessions_are_checked(api_client, make_token, user):
    response = api_client.get("/whoami", **bearer(make_token(session_id=None)))

    assert response.status_code == 401
    assert response.json()["code"] == "token_revoked"
    assert not Profile.objects.filter(id=user.id).exists()


def test_sessions_are_checked_by_default(api_client, make_token, user):
    response = api_client.get("/whoami", **bearer(make_token(session_id=str(uuid.uuid4()))))

    assert response.status_code == 401
    assert response.json() == {"detail": "Session has ended.", "code": "token_revoked"}
    assert not Profile.objects.filter(id=user.id).exists()


def test_session_check_can_be_turned_off(api_client, make_token, user, settings):
    settings.SUPABASE_AUTH_CHECK_SESSION = False

    response = api_client.get("/whoami", **bearer(make_token(session_id=str(uuid.uuid4()))))

    assert response.status_code == 200
    assert response.json()["id"] == str(user.id)
    assert Profile.objects.filter(id=user.id).exists()
