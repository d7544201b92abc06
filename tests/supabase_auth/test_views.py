"""POST /api/auth/signup, /signin, /refresh and /signout against a real loopback Supabase Auth.

FakeSupabase plays GoTrue over HTTP; its sign-ups and sessions are written to the test database's
auth.users / auth.sessions, so the tokens it issues go through the API's real authentication.
"""

import logging
import threading
import time
import uuid

import jwt
import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from profiles.models import Profile
from supabase_auth.models import AuthUser
from tests.support import throttles
from tests.support.http import bearer
from tests.support.supabase_wiring import wired_fake_supabase

PASSWORD = "correct horse battery"
UNAVAILABLE = {
    "detail": "Authentication is unavailable; try again shortly.",
    "code": "auth_unavailable",
}
CONFIRM_BODY = {
    "access_token": None,
    "refresh_token": None,
    "expires_in": None,
    "expires_at": None,
    "token_type": None,
    "user_id": None,
    "email_confirmation_required": True,
    "detail": "Check your email to confirm your account, then sign in.",
}
INVALID_CREDENTIALS = {"detail": "Invalid login credentials", "code": "invalid_credentials"}
TOKEN_KEYS = {"access_token", "refresh_token", "expires_in", "expires_at", "token_type", "user_id"}


@pytest.fixture
def supabase(db, settings):
    with wired_fake_supabase(settings) as fake:
        yield fake


@pytest.fixture
def autoconfirm(supabase):
    """A project without "Confirm email": sign-up signs the user in."""
    supabase.confirm_email = False
    return supabase


@pytest.fixture
def auth_rate(settings, monkeypatch):
    """Return set_rate("3/minute"): the `auth` throttle scope's rate for this test."""
    return lambda rate: throttles.set_rate(settings, monkeypatch, "auth", rate)


def signup(client, **body):
    return client.post("/api/auth/signup", body, format="json")


def signin(client, email, password=PASSWORD):
    return client.post("/api/auth/signin", {"email": email, "password": password}, format="json")


def refresh(client, refresh_token):
    return client.post("/api/auth/refresh", {"refresh_token": refresh_token}, format="json")


def signout(token, **body):
    client = APIClient()
    client.credentials(**bearer(token))
    return client.post("/api/auth/signout", body, format="json")


def my_profile(token):
    client = APIClient()
    client.credentials(**bearer(token))
    return client.get("/api/profiles/me")


def claims(fake, token):
    return jwt.decode(
        token,
        fake.jwt_secret.encode(),
        algorithms=["HS256"],
        audience="authenticated",
        issuer=fake.issuer,
    )


def session_rows(user_id) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("select id from auth.sessions where user_id = %s", [user_id])
        return {str(row[0]) for row in cursor.fetchall()}


def signed_in(fake, email="ada@example.com"):
    """Create a confirmed user and sign in through the API; return (user, token body)."""
    user = fake.create_user(email, PASSWORD)
    response = signin(APIClient(), email)
    assert response.status_code == 200, response.content
    return user, response.json()


def signed_in_again(user) -> dict:
    """Sign the same user in once more (another device); return the token body."""
    response = signin(APIClient(), user.email)
    assert response.status_code == 200, response.content
    return response.json()


# -- sign-up ---------------------------------------------------------------------------------


def test_signup_with_email_confirmation_is_201_without_tokens(supabase, api_client):
    response = signup(api_client, email="ada@example.com", password=PASSWORD)

    assert response.status_code == 201
    assert response.json() == CONFIRM_BODY
    user = supabase.user_by_email("ada@example.com")
    assert user is not None
    assert not user.confirmed
    assert AuthUser.objects.filter(id=user.id, email="ada@example.com").exists()
    assert not Profile.objects.exists()
    assert supabase.sessions == {}


def test_signup_of_a_registered_email_gets_the_same_body_as_a_new_one(supabase, api_client):
    existing = supabase.create_user("taken@example.com", PASSWORD)

    new = signup(api_client, email="new@example.com", password="another password")
    taken = signup(api_client, email="taken@example.com", password="another password")

    assert (new.status_code, taken.status_code) == (201, 201)
    assert taken.content == new.content
    assert taken.json() == CONFIRM_BODY
    assert list(
        AuthUser.objects.filter(email="taken@example.com").values_list("id", flat=True)
    ) == [uuid.UUID(existing.id)]
    assert supabase.users[existing.id].password == PASSWORD


@pytest.mark.parametrize(
    ("sent", "expected_name"), [({"name": "Ada Lovelace"}, "Ada Lovelace"), ({}, None)]
)
def test_autoconfirm_signup_returns_tokens_the_api_accepts(
    autoconfirm, api_client, sent, expected_name
):
    response = signup(api_client, email="ada@example.com", password=PASSWORD, **sent)

    assert response.status_code == 201
    body = response.json()
    assert set(body) == TOKEN_KEYS | {"email_confirmation_required", "detail"}
    assert body["email_confirmation_required"] is False
    assert body["detail"] == "Account created."
    assert body["token_type"] == "bearer"
    user = autoconfirm.user_by_email("ada@example.com")
    assert body["user_id"] == user.id
    assert claims(autoconfirm, body["access_token"])["sub"] == user.id
    me = my_profile(body["access_token"])
    assert me.status_code == 200
    assert me.json()["id"] == user.id
    assert me.json()["email"] == "ada@example.com"
    assert me.json()["name"] == expected_name
    profile = Profile.objects.get(id=user.id)
    assert (profile.email, profile.name) == ("ada@example.com", expected_name)


def test_autoconfirm_signup_of_a_registered_email_is_422(autoconfirm, api_client):
    autoconfirm.create_user("ada@example.com", PASSWORD)

    response = signup(api_client, email="ada@example.com", password="another password")

    assert response.status_code == 422
    assert response.json() == {"detail": "User already registered", "code": "user_already_exists"}
    assert AuthUser.objects.filter(email="ada@example.com").count() == 1
    assert autoconfirm.sessions == {}


def test_weak_password_is_422_with_reasons(supabase, api_client):
    response = signup(api_client, email="ada@example.com", password="abc")

    assert response.status_code == 422
    assert response.json() == {
        "detail": "Password should be at least 6 characters.",
        "code": "weak_password",
        "reasons": ["length"],
    }
    assert supabase.users == {}
    assert not AuthUser.objects.filter(email="ada@example.com").exists()


def test_signup_when_signups_are_disabled_is_403(supabase, api_client):
    supabase.signup_disabled = True

    response = signup(api_client, email="ada@example.com", password=PASSWORD)

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Signups not allowed for this instance",
        "code": "signup_disabled",
    }
    assert supabase.users == {}
    assert not AuthUser.objects.exists()


# -- sign-in ---------------------------------------------------------------------------------


def test_signin_returns_tokens_the_api_accepts(supabase, api_client):
    user = supabase.create_user("ada@example.com", PASSWORD)
    supabase.create_user("other@example.com", PASSWORD)

    response = signin(api_client, "Ada@Example.com")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["user_id"] == user.id
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    token_claims = claims(supabase, body["access_token"])
    assert token_claims["sub"] == user.id
    assert token_claims["session_id"] in supabase.sessions
    assert body["refresh_token"] in supabase.refresh_tokens
    me = my_profile(body["access_token"])
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    assert list(Profile.objects.values_list("id", flat=True)) == [uuid.UUID(user.id)]
    assert session_rows(user.id) == {token_claims["session_id"]}


def test_wrong_password_and_unknown_email_get_the_same_401(supabase, api_client):
    supabase.create_user("ada@example.com", PASSWORD)

    wrong_password = signin(api_client, "ada@example.com", "not the password")
    unknown_email = signin(api_client, "nobody@example.com", "not the password")

    assert (wrong_password.status_code, unknown_email.status_code) == (401, 401)
    assert wrong_password.json() == INVALID_CREDENTIALS
    assert wrong_password.content == unknown_email.content
    assert supabase.sessions == {}


def test_signin_with_an_unconfirmed_email_is_403(supabase, api_client):
    supabase.create_user("ada@example.com", PASSWORD, confirmed=False)

    response = signin(api_client, "ada@example.com")

    assert response.status_code == 403
    assert response.json() == {"detail": "Email not confirmed", "code": "email_not_confirmed"}
    assert supabase.sessions == {}


# -- refresh ---------------------------------------------------------------------------------


def test_refresh_returns_new_tokens_and_a_new_refresh_token(supabase, api_client):
    user, first = signed_in(supabase)

    response = refresh(api_client, first["refresh_token"])

    assert response.status_code == 200
    body = response.json()
    assert set(body) == TOKEN_KEYS
    assert body["user_id"] == user.id
    assert body["refresh_token"] != first["refresh_token"]
    assert supabase.refresh_tokens[first["refresh_token"]].revoked
    assert not supabase.refresh_tokens[body["refresh_token"]].revoked
    session_id = claims(supabase, first["access_token"])["session_id"]
    assert claims(supabase, body["access_token"])["session_id"] == session_id
    assert my_profile(body["access_token"]).status_code == 200


def test_used_refresh_token_is_401(supabase, api_client):
    supabase.refresh_token_parent_reuse = False  # strict single use
    _user, first = signed_in(supabase)
    assert refresh(api_client, first["refresh_token"]).status_code == 200

    response = refresh(api_client, first["refresh_token"])

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Invalid Refresh Token: Already Used",
        "code": "invalid_refresh_token",
    }


def test_unknown_refresh_token_is_401(supabase, api_client):
    response = refresh(api_client, "no-such-token")

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Invalid Refresh Token: Refresh Token Not Found",
        "code": "invalid_refresh_token",
    }
    assert supabase.last_request("/auth/v1/token").json == {"refresh_token": "no-such-token"}


# -- Supabase refusing or failing ------------------------------------------------------------


def test_supabase_rate_limit_is_429_with_its_retry_after(supabase, api_client):
    supabase.create_user("ada@example.com", PASSWORD)
    supabase.fail_next("/auth/v1/token", 429, headers={"Retry-After": "17"})

    response = signin(api_client, "ada@example.com")

    assert response.status_code == 429
    assert response["Retry-After"] == "17"
    assert response.json() == {"detail": "Request rate limit reached", "code": "rate_limited"}
    assert supabase.sessions == {}


def test_supabase_rate_limit_without_retry_after_asks_for_a_minute(supabase, api_client):
    supabase.fail_next("/auth/v1/signup", 429, code="over_email_send_rate_limit", message="Slow")

    response = signup(api_client, email="ada@example.com", password=PASSWORD)

    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert response.json() == {"detail": "Slow", "code": "rate_limited"}


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param({"status": 500}, id="500"),
        pytest.param({"status": 502}, id="502"),
        pytest.param({"status": 503}, id="503"),
        pytest.param({"status": 504}, id="504"),
        pytest.param({"close": True}, id="connection-dropped"),
        pytest.param({"hang": 4.0}, id="hang-beyond-timeout"),
    ],
)
def test_supabase_failure_is_a_quick_503(supabase, api_client, settings, failure):
    supabase.create_user("ada@example.com", PASSWORD)
    supabase.fail_next("/auth/v1/token", **failure)

    started = time.monotonic()
    response = signin(api_client, "ada@example.com")
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    # Quick: only a hang waits out the timeout (then 503 at once); an answer is never waited on.
    timeout = settings.SUPABASE_HTTP_TIMEOUT
    assert elapsed < (timeout + 2 if "hang" in failure else timeout)
    assert len(supabase.requests_to("/auth/v1/token")) == 1


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html><body>Welcome to nginx!</body></html>", id="html-page"),
        pytest.param(b'{"user": null}', id="json-without-session"),
    ],
)
def test_unreadable_success_answer_is_503_not_500(supabase, api_client, body):
    """A 200 that is not a session (a proxy page, a wrong SUPABASE_URL) is an outage too."""
    api_client.raise_request_exception = False
    supabase.fail_next("/auth/v1/token", 200, body=body)

    response = signin(api_client, "ada@example.com")

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE


@pytest.mark.parametrize("endpoint", ["signup", "signin", "refresh"])
def test_supabase_down_is_503_on_every_endpoint(supabase, api_client, endpoint):
    supabase.down = True
    body = {"email": "ada@example.com", "password": PASSWORD, "refresh_token": "r"}

    response = api_client.post(f"/api/auth/{endpoint}", body, format="json")

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    assert not AuthUser.objects.exists()


@pytest.mark.parametrize("missing", ["SUPABASE_URL", "SUPABASE_ANON_KEY"])
def test_unconfigured_supabase_is_503(supabase, api_client, settings, missing):
    setattr(settings, missing, "")

    response = signin(api_client, "ada@example.com")

    assert response.status_code == 503
    assert response.json() == {
        "detail": "Authentication is unavailable.",
        "code": "auth_unavailable",
    }
    assert supabase.requests == []


# -- input checked before Supabase is called -------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "body", "errors"),
    [
        ("signin", {"password": PASSWORD}, {"email": ["This field is required."]}),
        (
            "signin",
            {"email": "not-an-email", "password": PASSWORD},
            {"email": ["Enter a valid email address."]},
        ),
        ("signin", {"email": "ada@example.com"}, {"password": ["This field is required."]}),
        (
            "signin",
            {"email": "ada@example.com", "password": "x" * 73},
            {"password": ["Ensure this field has no more than 72 characters."]},
        ),
        (
            "signup",
            {"email": "ada@example.com", "password": "x" * 73},
            {"password": ["Ensure this field has no more than 72 characters."]},
        ),
        ("signup", {"password": PASSWORD}, {"email": ["This field is required."]}),
        ("refresh", {}, {"refresh_token": ["This field is required."]}),
        ("refresh", {"refresh_token": ""}, {"refresh_token": ["This field may not be blank."]}),
    ],
)
def test_invalid_input_is_400_and_never_reaches_supabase(
    supabase, api_client, endpoint, body, errors
):
    response = api_client.post(f"/api/auth/{endpoint}", body, format="json")

    assert response.status_code == 400
    assert response.json() == errors
    assert supabase.requests == []


def test_password_of_72_characters_is_passed_on(supabase, api_client):
    supabase.create_user("ada@example.com", "x" * 72)

    response = signin(api_client, "ada@example.com", "x" * 72)

    assert response.status_code == 200
    assert supabase.last_request("/auth/v1/token").json["password"] == "x" * 72


def test_malformed_json_is_400_and_never_reaches_supabase(supabase, api_client):
    response = api_client.post(
        "/api/auth/signin", b'{"email": "ada@example.com", ', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "parse_error"
    assert response.json()["detail"].startswith("JSON parse error")
    assert supabase.requests == []


def test_form_encoded_body_is_415_and_never_reaches_supabase(supabase, api_client):
    response = api_client.post(
        "/api/auth/signin",
        "email=ada%40example.com&password=secret",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 415
    assert response.json() == {
        "detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.',
        "code": "unsupported_media_type",
    }
    assert supabase.requests == []


# -- secrets ---------------------------------------------------------------------------------


def test_passwords_never_reach_the_logs(supabase, api_client, caplog):
    secret = "Zebra-Paperclip-Sunrise-4417"
    wrong = "Wrong-Guess-Paperclip-9981"
    supabase.create_user("ada@example.com", secret)
    for name in (None, "httpx", "httpcore", "django.request", "supabase_auth"):
        caplog.set_level(logging.DEBUG, logger=name)

    ok = signin(api_client, "ada@example.com", secret)
    failed = signin(api_client, "ada@example.com", wrong)
    supabase.fail_next("/auth/v1/token", 500)
    broken = signin(api_client, "ada@example.com", secret)

    assert (ok.status_code, failed.status_code, broken.status_code) == (200, 401, 503)
    assert caplog.records, "nothing was logged: the check would prove nothing"
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + str(record.exc_info or "")
        assert secret not in text
        assert wrong not in text
    assert ok.json()["access_token"] not in caplog.text


def test_password_is_sent_to_supabase_only_in_the_signin_body(supabase, api_client):
    secret = "Zebra-Paperclip-Sunrise-4417"
    supabase.create_user("ada@example.com", secret)

    response = signin(api_client, "ada@example.com", secret)

    assert response.status_code == 200
    assert len(supabase.requests) == 1
    sent = supabase.requests[0]
    assert (sent.method, sent.path, sent.query) == (
        "POST",
        "/auth/v1/token",
        {"grant_type": "password"},
    )
    assert sent.json["password"] == secret
    assert sent.body.count(secret.encode()) == 1
    assert secret not in repr(sent.headers)
    assert secret not in response.content.decode()


# -- our own throttle ------------------------------------------------------------------------


def test_fourth_signin_in_a_minute_is_429(supabase, api_client, auth_rate):
    auth_rate("3/minute")
    supabase.create_user("ada@example.com", PASSWORD)

    statuses = [signin(api_client, "ada@example.com").status_code for _ in range(3)]
    response = signin(api_client, "ada@example.com")

    assert statuses == [200, 200, 200]
    throttles.assert_throttled(response, window_seconds=60)
    assert len(supabase.requests_to("/auth/v1/token")) == 3


def test_auth_endpoints_share_one_budget(supabase, api_client, auth_rate):
    auth_rate("3/minute")

    statuses = [
        signup(api_client, email="ada@example.com", password=PASSWORD).status_code,
        signin(api_client, "ada@example.com").status_code,
        refresh(api_client, "unknown").status_code,
        signin(api_client, "ada@example.com").status_code,
    ]

    assert statuses == [201, 403, 401, 429]
    assert len(supabase.requests) == 3


# -- no state shared between requests --------------------------------------------------------


def sign_in_and_refresh_concurrently(users, rounds=10) -> list[tuple[str, str, str]]:
    """Each user, in a thread of their own, signs in and refreshes `rounds` times at once.

    Return (user id, access token from the sign-in, access token from the refresh) per round.
    """
    results: list[tuple[str, str, str]] = []
    start = threading.Barrier(len(users))

    def run(user):
        client = APIClient()
        start.wait()
        try:
            for _ in range(rounds):
                signed = signin(client, user.email).json()
                refreshed = refresh(client, signed["refresh_token"]).json()
                results.append((user.id, signed["access_token"], refreshed["access_token"]))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrent_signins_each_get_their_own_token(supabase, auth_rate):
    auth_rate("1000/minute")
    users = [supabase.create_user(f"user{i}@example.com", PASSWORD) for i in range(2)]

    results = sign_in_and_refresh_concurrently(users)

    assert len(results) == 20
    for user_id, signed, refreshed in results:
        assert claims(supabase, signed)["sub"] == user_id
        assert claims(supabase, refreshed)["sub"] == user_id
    assert len(supabase.sessions) == 20


def test_concurrent_calls_carry_the_anon_key_and_no_user_token(supabase, auth_rate):
    auth_rate("1000/minute")
    users = [supabase.create_user(f"user{i}@example.com", PASSWORD) for i in range(2)]

    results = sign_in_and_refresh_concurrently(users)

    issued = {token for _, signed, refreshed in results for token in (signed, refreshed)}
    assert len(results) == 20
    assert len(supabase.requests) == 40
    for sent in supabase.requests:
        assert (sent.method, sent.path) == ("POST", "/auth/v1/token")
        assert sent.headers["apikey"] == supabase.anon_key
        assert sent.bearer == supabase.anon_key
        assert not any(token in repr(sent.headers) for token in issued)


def test_signup_after_a_signin_speaks_with_the_anon_key(supabase, api_client):
    _user, tokens = signed_in(supabase)

    response = signup(api_client, email="new@example.com", password=PASSWORD)

    assert response.status_code == 201
    sent = supabase.last_request("/auth/v1/signup")
    assert sent.headers["authorization"] == f"Bearer {supabase.anon_key}"
    assert sent.headers["apikey"] == supabase.anon_key
    assert tokens["access_token"] not in repr(sent.headers)


# -- sign-out --------------------------------------------------------------------------------


def test_signout_revokes_this_session_at_supabase(supabase):
    user, tokens = signed_in(supabase)
    other_device = signed_in_again(user)
    session_id = claims(supabase, tokens["access_token"])["session_id"]
    other_session = claims(supabase, other_device["access_token"])["session_id"]

    response = signout(tokens["access_token"])

    assert response.status_code == 204
    assert response.content == b""
    sent = supabase.last_request("/auth/v1/logout")
    assert (sent.method, sent.query) == ("POST", {"scope": "local"})
    assert sent.bearer == tokens["access_token"]
    assert sent.headers["apikey"] == supabase.anon_key
    assert set(supabase.sessions) == {other_session}
    assert tokens["refresh_token"] not in supabase.refresh_tokens
    assert session_rows(user.id) == {other_session}
    assert session_id not in session_rows(user.id)


def test_signout_global_ends_every_session_of_the_user(supabase):
    user, tokens = signed_in(supabase)
    signed_in_again(user)
    other, other_tokens = signed_in(supabase, "other@example.com")
    other_session = claims(supabase, other_tokens["access_token"])["session_id"]

    response = signout(tokens["access_token"], scope="global")

    assert response.status_code == 204
    assert supabase.last_request("/auth/v1/logout").query == {"scope": "global"}
    assert {s.user_id for s in supabase.sessions.values()} == {other.id}
    assert session_rows(user.id) == set()
    assert session_rows(other.id) == {other_session}


def test_signout_others_keeps_only_this_session(supabase):
    user, tokens = signed_in(supabase)
    signed_in_again(user)
    session_id = claims(supabase, tokens["access_token"])["session_id"]

    response = signout(tokens["access_token"], scope="others")

    assert response.status_code == 204
    assert set(supabase.sessions) == {session_id}
    assert session_rows(user.id) == {session_id}


def test_signout_of_an_ended_session_is_204(supabase):
    _user, tokens = signed_in(supabase)
    assert signout(tokens["access_token"]).status_code == 204

    response = signout(tokens["access_token"])

    assert response.status_code == 204
    assert len(supabase.requests_to("/auth/v1/logout")) == 2
    assert supabase.sessions == {}


def test_signed_out_token_is_refused_when_sessions_are_checked(supabase, settings):
    settings.SUPABASE_AUTH_CHECK_SESSION = True
    _user, tokens = signed_in(supabase)
    _other, other_tokens = signed_in(supabase, "other@example.com")
    assert my_profile(tokens["access_token"]).status_code == 200

    response = signout(tokens["access_token"])
    after = my_profile(tokens["access_token"])

    assert response.status_code == 204
    assert after.status_code == 401
    assert after.json() == {"detail": "Session has ended.", "code": "token_revoked"}
    assert my_profile(other_tokens["access_token"]).status_code == 200


def test_signout_without_a_token_is_401(supabase, api_client):
    response = api_client.post("/api/auth/signout", {}, format="json")

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert supabase.requests == []


def test_signout_with_an_unknown_scope_is_400(supabase):
    _user, tokens = signed_in(supabase)

    response = signout(tokens["access_token"], scope="everyone")

    assert response.status_code == 400
    assert response.json() == {"scope": ['"everyone" is not a valid choice.']}
    assert supabase.requests_to("/auth/v1/logout") == []
    assert len(supabase.sessions) == 1


def test_signout_with_a_token_supabase_refuses_is_401(supabase):
    """GoTrue has no leeway on exp; ours is SUPABASE_JWT_LEEWAY (30 s).

    A token 10 s past its expiry passes our check, and GoTrue answers 403 bad_jwt: the
    credential is the problem, so the client must hear 401 (refresh, then sign out again),
    not a 400 naming no field while the session stays alive at Supabase.
    """
    user = supabase.create_user("ada@example.com", PASSWORD)
    supabase.sign_in("ada@example.com")
    (session_id,) = supabase.sessions
    expired = supabase.mint_access_token(user, session_id=session_id, expires_in=-10)

    response = signout(expired)

    assert supabase.last_request("/auth/v1/logout").status == 403
    assert response.status_code == 401
    assert response.json()["code"] in ("token_expired", "token_invalid")
    assert set(supabase.sessions) == {session_id}


def test_signout_when_supabase_is_down_is_503(supabase):
    _user, tokens = signed_in(supabase)
    supabase.down = True

    response = signout(tokens["access_token"])

    assert response.status_code == 503
    assert response.json() == UNAVAILABLE
    assert len(supabase.sessions) == 1
