"""Permissions on Supabase claims: anonymous sign-ins, MFA level, roles from app_metadata."""

import pytest

from profiles.models import Profile
from tests.support.http import bearer

pytestmark = pytest.mark.urls("tests.supabase_auth.urls")


def assert_forbidden(response, code: str, detail: str) -> None:
    assert response.status_code == 403
    assert response.json() == {"detail": detail, "code": code}


# --- IsNotAnonymousSignIn -----------------------------------------------------------------


def test_anonymous_sign_in_is_refused_where_a_permanent_account_is_required(
    api_client, make_token, user
):
    token = make_token(is_anonymous=True, email="")

    response = api_client.get("/permanent-only", **bearer(token))

    assert_forbidden(response, "anonymous_sign_in", "Sign in with a permanent account to do this.")
    assert Profile.objects.get(id=user.id).email == ""  # authenticated, then refused


def test_anonymous_sign_in_is_an_authenticated_user(api_client, make_token, user):
    response = api_client.get("/whoami", **bearer(make_token(is_anonymous=True, email="")))

    assert response.status_code == 200
    assert response.json()["is_anonymous"] is True
    assert response.json()["id"] == str(user.id)


def test_permanent_account_passes_the_anonymous_check(api_client, make_token, user):
    response = api_client.get("/permanent-only", **bearer(make_token(is_anonymous=False)))

    assert response.status_code == 200
    assert response.json()["is_anonymous"] is False


def test_permanent_only_view_challenges_requests_without_a_token(api_client, db):
    response = api_client.get("/permanent-only")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- RequiresMFA --------------------------------------------------------------------------


@pytest.mark.parametrize("aal", ["aal1", None, "AAL2", "aal3"])
def test_mfa_view_refuses_anything_but_aal2(api_client, make_token, user, aal):
    response = api_client.get("/mfa-only", **bearer(make_token(aal=aal)))

    assert_forbidden(response, "mfa_required", "This requires multi-factor authentication (aal2).")


def test_mfa_view_accepts_aal2(api_client, make_token, user):
    response = api_client.get("/mfa-only", **bearer(make_token(aal="aal2")))

    assert response.status_code == 200
    assert response.json()["aal"] == "aal2"


# --- HasAppRole ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "app_metadata",
    [
        {"provider": "email", "role": "moderator"},
        {"provider": "email", "roles": ["admin"]},
        {"provider": "email", "role": "viewer", "roles": ["editor", "moderator"]},
    ],
    ids=["role", "roles_list", "role_and_roles"],
)
def test_role_from_app_metadata_is_granted(api_client, make_token, user, app_metadata):
    response = api_client.get("/moderators-only", **bearer(make_token(app_metadata=app_metadata)))

    assert response.status_code == 200
    assert response.json()["app_metadata"] == app_metadata


def test_role_in_user_metadata_is_never_trusted(api_client, make_token, user):
    token = make_token(user_metadata={"role": "moderator", "roles": ["admin"]})

    response = api_client.get("/moderators-only", **bearer(token))

    assert_forbidden(response, "role_required", "This requires the role moderator or admin.")


@pytest.mark.parametrize(
    "app_metadata",
    [
        {"roles": [["admin"], {"admin": True}, 7, None]},
        {"roles": "admin"},
        {"roles": {"admin": True}},
        {"role": ["moderator"]},
        {"role": {"name": "admin"}},
        {"role": "Moderator"},
        {},
    ],
    ids=[
        "roles_of_non_strings",
        "roles_a_string",
        "roles_an_object",
        "role_a_list",
        "role_an_object",
        "role_case_differs",
        "no_role",
    ],
)
def test_malformed_or_missing_role_is_refused(api_client, make_token, user, app_metadata):
    response = api_client.get("/moderators-only", **bearer(make_token(app_metadata=app_metadata)))

    assert_forbidden(response, "role_required", "This requires the role moderator or admin.")
