"""FakeSupabase driven only through the real supabase-py clients: proof that the double is faithful.

No database: the fake's hooks are plain callables here.
"""

import re
import time

import httpx
import jwt
import pytest
from storage3 import SyncStorageClient
from storage3.exceptions import StorageApiError
from supabase_auth.errors import (
    AuthApiError,
    AuthRetryableError,
    AuthWeakPasswordError,
)

from supabase_auth import SyncGoTrueClient
from supabase_auth.local import schema as local_schema
from tests.support.supabase_server import (
    FakeSupabase,
    auth_table_hooks,
    deny_all,
    own_folder,
    supabase_client,
)

PASSWORD = "correct horse battery"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) + b"\r\n--not-a-boundary\r\n"


@pytest.fixture
def fake():
    with FakeSupabase() as server:
        yield server


@pytest.fixture
def clients():
    """Return make(fake, key=None, timeout=None, headers=None) -> SyncGoTrueClient; closes all."""
    made = []

    def make(fake, *, key=None, timeout=None, headers=None):
        key = key or fake.anon_key
        client = SyncGoTrueClient(
            url=f"{fake.url}/auth/v1",
            headers={"apikey": key, "Authorization": f"Bearer {key}", **(headers or {})},
            auto_refresh_token=False,
            persist_session=False,
            http_client=httpx.Client(timeout=timeout) if timeout else None,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def auth(fake, clients):
    return clients(fake)


@pytest.fixture
def admin(fake, clients):
    return clients(fake, key=fake.service_role_key).admin


def storage(fake, token, *, apikey=None):
    return SyncStorageClient(
        f"{fake.url}/storage/v1/",
        {"apikey": apikey or fake.anon_key, "Authorization": f"Bearer {token}"},
    )


def signed_in(fake, auth, email="ada@example.com"):
    fake.create_user(email, PASSWORD)
    return auth.sign_in_with_password({"email": email, "password": PASSWORD}).session


def http_status(exc: Exception) -> int:
    """The HTTP status of the response behind a supabase-py error."""
    return exc.__cause__.response.status_code


# -- sign-up -------------------------------------------------------------------------------


def test_signup_with_confirmation_returns_a_user_and_no_session(fake, auth):
    response = auth.sign_up(
        {"email": "Ada@Example.com", "password": PASSWORD, "options": {"data": {"name": "Ada"}}}
    )

    assert response.session is None
    user = response.user
    assert user.email == "ada@example.com"
    assert user.email_confirmed_at is None
    assert user.confirmation_sent_at is not None
    assert user.user_metadata["name"] == "Ada"
    assert user.user_metadata["email_verified"] is False
    assert [i.provider for i in user.identities] == ["email"]
    assert fake.users[user.id].email == "ada@example.com"
    sent = fake.last_request("/auth/v1/signup", "POST")
    assert sent.headers["apikey"] == fake.anon_key
    assert sent.headers["x-supabase-api-version"] == "2024-01-01"
    assert sent.json == {
        "email": "Ada@Example.com",
        "password": PASSWORD,
        "data": {"name": "Ada"},
        "gotrue_meta_security": {"captcha_token": None},
    }


def test_signup_of_a_registered_email_looks_the_same_with_confirmation(fake, auth):
    real = fake.create_user("ada@example.com", PASSWORD)

    first = auth.sign_up({"email": "ada@example.com", "password": "another password"})
    second = auth.sign_up({"email": "ada@example.com", "password": "another password"})

    assert first.session is None
    assert second.session is None
    assert first.user.email == "ada@example.com"
    assert first.user.identities == []
    assert len({real.id, first.user.id, second.user.id}) == 3
    assert len(fake.users) == 1


def test_signup_of_an_unconfirmed_email_resends_at_most_once_a_minute(fake, auth):
    first = auth.sign_up({"email": "ada@example.com", "password": PASSWORD})

    with pytest.raises(AuthApiError) as error:
        auth.sign_up({"email": "ada@example.com", "password": PASSWORD})
    assert (error.value.status, error.value.code) == (429, "over_email_send_rate_limit")

    fake.advance(61)
    again = auth.sign_up({"email": "ada@example.com", "password": PASSWORD})
    assert again.user.id == first.user.id


def test_autoconfirm_signup_returns_a_session_and_refuses_a_duplicate(fake, auth):
    fake.confirm_email = False

    response = auth.sign_up({"email": "ada@example.com", "password": PASSWORD})

    assert response.session is not None
    assert response.session.user.email_confirmed_at is not None
    assert response.user.id == response.session.user.id
    with pytest.raises(AuthApiError) as error:
        auth.sign_up({"email": "ada@example.com", "password": PASSWORD})
    assert (error.value.status, error.value.code) == (422, "user_already_exists")
    assert error.value.message == "User already registered"


def test_weak_password_is_its_own_error_with_reasons(fake, auth):
    fake.min_password_length = 12

    with pytest.raises(AuthWeakPasswordError) as error:
        auth.sign_up({"email": "ada@example.com", "password": "short"})

    assert not isinstance(error.value, AuthApiError)
    assert (error.value.status, error.value.code) == (422, "weak_password")
    assert error.value.reasons == ["length"]
    assert error.value.message == "Password should be at least 12 characters."
    assert fake.users == {}


def test_signup_disabled(fake, auth):
    fake.signup_disabled = True

    with pytest.raises(AuthApiError) as error:
        auth.sign_up({"email": "ada@example.com", "password": PASSWORD})

    assert (error.value.status, error.value.code) == (422, "signup_disabled")


def test_invalid_email(auth):
    with pytest.raises(AuthApiError) as error:
        auth.sign_up({"email": "not-an-email", "password": PASSWORD})

    assert (error.value.status, error.value.code) == (400, "email_address_invalid")


# -- sign-in, tokens -----------------------------------------------------------------------


def test_sign_in_returns_a_gotrue_session(fake, auth):
    fake.create_user("ada@example.com", PASSWORD, user_metadata={"name": "Ada"})

    response = auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD})

    session = response.session
    assert session.token_type == "bearer"
    assert session.expires_in == 3600
    assert abs(session.expires_at - (time.time() + 3600)) < 5
    assert len(session.refresh_token) == 12
    assert session.refresh_token in fake.refresh_tokens
    assert response.user.email == "ada@example.com"
    assert response.user.last_sign_in_at is not None
    assert fake.last_request("/auth/v1/token").query == {"grant_type": "password"}


def test_access_token_is_an_hs256_jwt_with_gotrue_claims(fake, auth):
    user = fake.create_user("ada@example.com", PASSWORD, user_metadata={"name": "Ada"})
    session = auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD})

    token = session.session.access_token
    claims = jwt.decode(
        token,
        fake.jwt_secret.encode(),
        algorithms=["HS256"],
        audience="authenticated",
        issuer=f"{fake.url}/auth/v1",
    )

    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert claims["sub"] == user.id
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["email"] == "ada@example.com"
    assert claims["phone"] == ""
    assert claims["role"] == "authenticated"
    assert claims["aal"] == "aal1"
    assert [entry["method"] for entry in claims["amr"]] == ["password"]
    assert claims["session_id"] in fake.sessions
    assert claims["is_anonymous"] is False
    assert claims["app_metadata"] == {"provider": "email", "providers": ["email"]}
    assert claims["user_metadata"]["name"] == "Ada"
    # supabase-py's own check of an HS256 token is a GET /user with it.
    assert auth.get_claims(token)["claims"]["sub"] == user.id
    assert fake.last_request("/auth/v1/user").bearer == token


@pytest.mark.parametrize("password", [PASSWORD + "!", None])
def test_wrong_password_and_unknown_email_are_the_same_error(fake, auth, password):
    if password is not None:
        fake.create_user("ada@example.com", PASSWORD)
    with pytest.raises(AuthApiError) as error:
        auth.sign_in_with_password({"email": "ada@example.com", "password": password or "x" * 8})

    assert (error.value.status, error.value.code) == (400, "invalid_credentials")
    assert error.value.message == "Invalid login credentials"


def test_unconfirmed_email_cannot_sign_in(fake, auth):
    auth.sign_up({"email": "ada@example.com", "password": PASSWORD})

    with pytest.raises(AuthApiError) as error:
        auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD})
    assert (error.value.status, error.value.code) == (400, "email_not_confirmed")

    fake.confirm("ada@example.com")
    assert auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD}).session


def test_legacy_error_shape_without_the_api_version_header(fake, clients):
    old = clients(fake, headers={"X-Supabase-Api-Version": "2023-06-01"})

    with pytest.raises(AuthApiError) as error:
        old.sign_in_with_password({"email": "nobody@example.com", "password": PASSWORD})

    response = error.value.__cause__.response
    assert response.json() == {
        "code": 400,
        "error_code": "invalid_credentials",
        "msg": "Invalid login credentials",
    }
    assert "x-supabase-api-version" not in response.headers
    # supabase-py reads `error_code` and `msg` from the legacy shape.
    assert (error.value.status, error.value.code) == (400, "invalid_credentials")
    assert error.value.message == "Invalid login credentials"


def test_versioned_error_shape_echoes_the_version(auth):
    with pytest.raises(AuthApiError) as error:
        auth.sign_in_with_password({"email": "nobody@example.com", "password": PASSWORD})

    response = error.value.__cause__.response
    assert response.json() == {
        "code": "invalid_credentials",
        "message": "Invalid login credentials",
    }
    assert response.headers["x-supabase-api-version"] == "2024-01-01"


# -- refresh -------------------------------------------------------------------------------


def test_refresh_rotates_and_detects_reuse(fake, auth):
    rt0 = signed_in(fake, auth).refresh_token

    first = auth.refresh_session(rt0).session
    rt1 = first.refresh_token
    assert rt1 != rt0
    assert jwt.decode(first.access_token, options={"verify_signature": False})["sub"]
    # GoTrue hands the current token back to a client that lost the previous answer.
    assert auth.refresh_session(rt0).session.refresh_token == rt1
    rt2 = auth.refresh_session(rt1).session.refresh_token

    with pytest.raises(AuthApiError) as error:
        auth.refresh_session(rt0)
    assert (error.value.status, error.value.code) == (400, "refresh_token_already_used")
    assert error.value.message == "Invalid Refresh Token: Already Used"
    with pytest.raises(AuthApiError) as error:  # the whole family is revoked
        auth.refresh_session(rt2)
    assert error.value.code == "refresh_token_already_used"
    assert fake.last_request("/auth/v1/token").json == {"refresh_token": rt2}


def test_strict_single_use_refresh_tokens(fake, auth):
    fake.refresh_token_parent_reuse = False
    rt0 = signed_in(fake, auth).refresh_token
    auth.refresh_session(rt0)

    with pytest.raises(AuthApiError) as error:
        auth.refresh_session(rt0)

    assert (error.value.status, error.value.code) == (400, "refresh_token_already_used")


def test_reuse_interval_tolerates_a_recent_token(fake, auth):
    fake.refresh_token_reuse_interval = 10
    rt0 = signed_in(fake, auth).refresh_token
    rt1 = auth.refresh_session(rt0).session.refresh_token
    auth.refresh_session(rt1)

    assert auth.refresh_session(rt0).session.refresh_token
    fake.advance(11)
    with pytest.raises(AuthApiError) as error:
        auth.refresh_session(rt1)
    assert error.value.code == "refresh_token_already_used"


def test_unknown_refresh_token(auth):
    with pytest.raises(AuthApiError) as error:
        auth.refresh_session("unknown-token")

    assert (error.value.status, error.value.code) == (400, "refresh_token_not_found")
    assert error.value.message == "Invalid Refresh Token: Refresh Token Not Found"


# -- sign-out, get_user --------------------------------------------------------------------


def test_local_sign_out_ends_the_session(fake, auth):
    ended = []
    fake.on_session_ended = lambda session_id, user_id: ended.append((session_id, user_id))
    session = signed_in(fake, auth)
    other = auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD})
    assert auth.get_user(session.access_token).user.id == session.user.id

    assert auth.admin.sign_out(session.access_token, "local") is None

    sent = fake.last_request("/auth/v1/logout")
    assert (sent.method, sent.query, sent.bearer) == (
        "POST",
        {"scope": "local"},
        session.access_token,
    )
    assert sent.status == 204
    with pytest.raises(AuthApiError) as error:
        auth.get_user(session.access_token)
    assert (error.value.status, error.value.code) == (403, "session_not_found")
    assert error.value.message == "Session from session_id claim in JWT does not exist"
    with pytest.raises(AuthApiError) as error:
        auth.refresh_session(session.refresh_token)
    assert error.value.code == "refresh_token_not_found"
    assert auth.get_user(other.session.access_token).user.id == session.user.id
    assert [user_id for _, user_id in ended] == [session.user.id]
    # Signing out an ended session again is the same 403 (supabase-py's sign_out ignores it).
    with pytest.raises(AuthApiError) as error:
        auth.admin.sign_out(session.access_token, "local")
    assert error.value.code == "session_not_found"


@pytest.mark.parametrize(
    ("scope", "this_alive", "other_alive"),
    [
        ("global", False, False),
        ("others", True, False),
    ],
)
def test_global_and_others_sign_out(fake, auth, scope, this_alive, other_alive):
    this = signed_in(fake, auth)
    other = auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD}).session

    auth.admin.sign_out(this.access_token, scope)

    def alive(session):
        try:
            auth.get_user(session.access_token)
        except AuthApiError as exc:
            return exc.code
        return "alive"

    expected = ["alive" if ok else "session_not_found" for ok in (this_alive, other_alive)]
    assert [alive(this), alive(other)] == expected


FORGED_CLAIMS = {"role": "authenticated"}  # plus the user's sub: a minimal hand-made token


def test_hand_made_token_signed_with_the_secret_is_accepted(fake, auth):
    """Positive control of the forgery below: same claims, the project's secret."""
    user = fake.create_user("ada@example.com", PASSWORD)
    token = jwt.encode({"sub": user.id, **FORGED_CLAIMS}, fake.jwt_secret.encode())

    assert auth.get_user(token).user.id == user.id


def test_bad_tokens_on_get_user(fake, auth):
    user = fake.create_user("ada@example.com", PASSWORD)

    expired = fake.mint_access_token(user, expires_in=-5)
    forged = jwt.encode({"sub": user.id, **FORGED_CLAIMS}, "wrong-secret-" * 4)

    for token, status, code in [
        (expired, 403, "bad_jwt"),
        (forged, 403, "bad_jwt"),
        (fake.mint_access_token(user), 403, "session_not_found"),
    ]:
        with pytest.raises(AuthApiError) as error:
            auth.get_user(token)
        assert (error.value.status, error.value.code) == (status, code)
    with pytest.raises(AuthApiError) as error:
        auth.get_user(expired)
    assert "token is expired" in error.value.message


# -- Kong, failures, outages ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "message"),
    [("", "No API key found in request"), ("wrong-key", "Invalid API key")],
)
def test_api_key_is_checked_like_the_gateway(fake, clients, key, message):
    client = SyncGoTrueClient(
        url=f"{fake.url}/auth/v1",
        headers={"apikey": key, "Authorization": f"Bearer {fake.anon_key}"},
        auto_refresh_token=False,
        persist_session=False,
    )
    with client, pytest.raises(AuthApiError) as error:
        client.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD})

    assert (error.value.status, error.value.code, error.value.message) == (401, None, message)


def test_forced_rate_limit_is_an_api_error_with_retry_after(fake, auth):
    fake.create_user("ada@example.com", PASSWORD)
    fake.fail_next("/auth/v1/token", 429, headers={"Retry-After": "30"})

    with pytest.raises(AuthApiError) as error:
        auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD})

    assert (error.value.status, error.value.code) == (429, "over_request_rate_limit")
    assert error.value.__cause__.response.headers["retry-after"] == "30"
    assert auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD}).session


def test_forced_server_errors(fake, auth):
    fake.fail_next("/auth/v1/signup", 500)
    fake.fail_next("/auth/v1/token", 503)

    with pytest.raises(AuthApiError) as error:
        auth.sign_up({"email": "ada@example.com", "password": PASSWORD})
    assert (error.value.status, error.value.code) == (500, "unexpected_failure")
    with pytest.raises(AuthRetryableError) as retryable:
        auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD})
    assert retryable.value.status == 503


def test_down_is_a_network_failure(fake, auth):
    fake.down = True

    with pytest.raises(AuthRetryableError) as error:
        auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD})
    assert error.value.status == 0
    with pytest.raises(httpx.RemoteProtocolError):
        storage(fake, fake.anon_key).get_bucket("avatars")

    fake.down = 503
    with pytest.raises(AuthRetryableError) as error:
        auth.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD})
    assert error.value.status == 503


def test_a_hang_beyond_the_client_timeout_is_a_timeout(fake, clients):
    impatient = clients(fake, timeout=0.3)
    fake.fail_next("/auth/v1/token", hang=3)

    started = time.monotonic()
    with pytest.raises(AuthRetryableError) as error:
        impatient.sign_in_with_password({"email": "ada@example.com", "password": PASSWORD})

    assert time.monotonic() - started < 2
    assert error.value.status == 0
    assert isinstance(error.value.__cause__, httpx.ReadTimeout)

    fake.fail_next("/storage/v1/bucket", hang=3)
    client = SyncStorageClient(
        f"{fake.url}/storage/v1/",
        {"apikey": fake.anon_key, "Authorization": f"Bearer {fake.anon_key}"},
        http_client=httpx.Client(timeout=0.3),
    )
    with pytest.raises(httpx.ReadTimeout):
        client.get_bucket("avatars")


def test_health_and_jwks(auth):
    assert auth._request("GET", "health").json()["name"] == "GoTrue"
    assert auth._request("GET", ".well-known/jwks.json").json() == {"keys": []}


# -- admin, hooks --------------------------------------------------------------------------


def test_admin_create_and_delete_user(fake, auth, admin):
    deleted = []
    fake.on_user_deleted = deleted.append
    created = admin.create_user(
        {
            "email": "ada@example.com",
            "password": PASSWORD,
            "email_confirm": True,
            "user_metadata": {"name": "Ada"},
        }
    ).user
    token = auth.sign_in_with_password(
        {"email": "ada@example.com", "password": PASSWORD}
    ).session.access_token

    with pytest.raises(AuthApiError) as error:
        admin.create_user({"email": "ada@example.com", "password": PASSWORD})
    assert (error.value.status, error.value.code) == (422, "email_exists")
    with pytest.raises(AuthApiError) as error:
        auth.admin.create_user({"email": "bob@example.com", "password": PASSWORD})
    assert (error.value.status, error.value.code) == (403, "not_admin")

    admin.delete_user(created.id)

    assert deleted == [created.id]
    assert fake.last_request("/auth/v1/admin/users/").json == {"should_soft_delete": False}
    with pytest.raises(AuthApiError) as error:
        admin.get_user_by_id(created.id)
    assert (error.value.status, error.value.code) == (404, "user_not_found")
    with pytest.raises(AuthApiError) as error:
        auth.get_user(token)
    assert (error.value.status, error.value.code) == (403, "user_not_found")


def test_hooks_get_auth_table_rows():
    users, sessions = [], []
    with FakeSupabase(
        confirm_email=False, on_user_created=users.append, on_session_created=sessions.append
    ) as fake:
        client = SyncGoTrueClient(
            url=f"{fake.url}/auth/v1",
            headers={"apikey": fake.anon_key, "Authorization": f"Bearer {fake.anon_key}"},
            auto_refresh_token=False,
            persist_session=False,
        )
        with client:
            response = client.sign_up(
                {"email": "ada@example.com", "password": PASSWORD, "options": {"data": {"a": 1}}}
            )

    (user,) = users
    (session,) = sessions
    assert user["id"] == response.user.id
    assert user["email"] == "ada@example.com"
    assert user["raw_user_meta_data"]["a"] == 1
    assert user["raw_app_meta_data"] == {"provider": "email", "providers": ["email"]}
    assert session["user_id"] == response.user.id
    assert session["aal"] == "aal1"
    sql = local_schema.INIT_SQL.read_text()
    for table, row in (("users", user), ("sessions", session)):
        definition = re.search(rf"create table if not exists auth\.{table} \((.*?)\n\);", sql, re.S)
        columns = {line.split()[0] for line in definition.group(1).strip().splitlines()}
        assert set(row) <= columns


def test_auth_table_hooks_write_sql(clients):
    statements = []
    hooks = auth_table_hooks(lambda sql, params: statements.append((sql, params)))
    with FakeSupabase(confirm_email=False, **hooks) as fake:
        session = clients(fake).sign_up({"email": "ada@example.com", "password": PASSWORD}).session
        clients(fake).admin.sign_out(session.access_token, "local")
        clients(fake, key=fake.service_role_key).admin.delete_user(session.user.id)

    insert_user, insert_session, delete_session, delete_user = statements
    assert insert_user[0].startswith("insert into auth.users (instance_id, id, aud, role, email,")
    assert "%s::jsonb" in insert_user[0]
    assert session.user.id in insert_user[1]
    assert insert_session[0].startswith("insert into auth.sessions (id, user_id,")
    session_id = jwt.decode(session.access_token, options={"verify_signature": False})["session_id"]
    assert delete_session == ("delete from auth.sessions where id = %s", [session_id])
    assert delete_user == ("delete from auth.users where id = %s", [session.user.id])


def test_a_failing_user_hook_is_a_database_error(fake, auth):
    def broken(row):
        raise RuntimeError("trigger failed")

    fake.on_user_created = broken

    with pytest.raises(AuthApiError) as error:
        auth.sign_up({"email": "ada@example.com", "password": PASSWORD})

    assert (error.value.status, error.value.code) == (500, "unexpected_failure")
    assert error.value.message == "Database error saving new user"
    assert fake.users == {}


# -- Storage -------------------------------------------------------------------------------


def test_upload_with_upsert_as_the_user(fake, auth):
    fake.create_bucket("avatars", public=True)
    session = signed_in(fake, auth)
    uid = session.user.id
    files = storage(fake, session.access_token).from_("avatars")
    options = {"content-type": "image/png", "cache-control": "3600", "upsert": "true"}

    uploaded = files.upload(f"{uid}/avatar.png", PNG, options)
    files.upload(f"{uid}/avatar.png", PNG + b"v2", options)

    assert uploaded.full_path == f"avatars/{uid}/avatar.png"
    stored = fake.objects[("avatars", f"{uid}/avatar.png")]
    assert (stored.data, stored.content_type, stored.owner) == (PNG + b"v2", "image/png", uid)
    assert stored.cache_control == "max-age=3600"
    sent = fake.last_request("/storage/v1/object/avatars", "POST")
    assert sent.bearer == session.access_token
    assert sent.headers["x-upsert"] == "true"
    assert sent.form == {"cacheControl": "3600"}
    assert sent.files["file"] == ("avatar.png", "image/png", PNG + b"v2")


def test_duplicate_upload_without_upsert(fake, auth):
    fake.create_bucket("avatars", public=True)
    session = signed_in(fake, auth)
    files = storage(fake, session.access_token).from_("avatars")
    files.upload("a.png", PNG, {"content-type": "image/png"})

    with pytest.raises(StorageApiError) as error:
        files.upload("a.png", PNG, {"content-type": "image/png"})

    assert (error.value.status, error.value.code) == ("409", "Duplicate")
    assert error.value.message == "The resource already exists"
    assert http_status(error.value) == 400


def test_upload_to_a_missing_bucket(fake, auth):
    session = signed_in(fake, auth)

    with pytest.raises(StorageApiError) as error:
        storage(fake, session.access_token).from_("nope").upload("a.png", PNG)

    assert (error.value.status, error.value.code) == ("404", "Bucket not found")
    assert http_status(error.value) == 400


def test_rls_refusals(fake, auth):
    fake.create_bucket("avatars", public=True)
    session = signed_in(fake, auth)
    files = storage(fake, session.access_token).from_("avatars")
    fake.storage_policy(own_folder("avatars"))

    files.upload(f"{session.user.id}/avatar.png", PNG, {"content-type": "image/png"})
    with pytest.raises(StorageApiError) as error:
        files.upload("someone-else/avatar.png", PNG, {"content-type": "image/png"})
    assert (error.value.status, error.value.code) == ("403", "Unauthorized")
    assert error.value.message == "new row violates row-level security policy"

    fake.refuse_uploads = True
    with pytest.raises(StorageApiError) as error:
        files.upload(f"{session.user.id}/other.png", PNG, {"content-type": "image/png"})
    assert error.value.status == "403"
    # The service role bypasses RLS.
    storage(fake, fake.service_role_key).from_("avatars").upload("any/where.png", PNG)
    fake.storage_policy(deny_all)
    with pytest.raises(StorageApiError) as error:
        storage(fake, fake.anon_key).get_bucket("avatars")
    assert error.value.status == "404"


def test_size_and_type_limits(fake, auth):
    fake.create_bucket("avatars", file_size_limit=100, allowed_mime_types=["image/*"])
    files = storage(fake, signed_in(fake, auth).access_token).from_("avatars")

    with pytest.raises(StorageApiError) as error:
        files.upload("big.png", b"x" * 101, {"content-type": "image/png"})
    assert (error.value.status, error.value.code) == ("413", "Payload too large")
    with pytest.raises(StorageApiError) as error:
        files.upload("a.txt", b"hello")
    assert (error.value.status, error.value.code) == ("415", "invalid_mime_type")


def test_public_url_serves_the_bytes(fake, auth):
    fake.create_bucket("avatars", public=True)
    fake.create_bucket("private")
    files = storage(fake, signed_in(fake, auth).access_token).from_("avatars")
    files.upload("u/a.png", PNG, {"content-type": "image/png", "cache-control": "60"})

    url = files.get_public_url("u/a.png")
    response = httpx.get(url)

    assert url == f"{fake.url}/storage/v1/object/public/avatars/u/a.png"
    assert response.status_code == 200
    assert response.content == PNG
    assert response.headers["content-type"] == "image/png"
    assert response.headers["cache-control"] == "max-age=60"
    missing = httpx.get(files.get_public_url("u/missing.png"))
    assert (missing.status_code, missing.json()["statusCode"]) == (400, "404")
    assert missing.json()["error"] == "not_found"
    fake.put_object("private", "u/a.png", PNG)
    private = httpx.get(f"{fake.url}/storage/v1/object/public/private/u/a.png")
    assert (private.status_code, private.json()["statusCode"]) == (400, "404")


def test_remove_and_update(fake, auth):
    fake.create_bucket("avatars", public=True)
    files = storage(fake, signed_in(fake, auth).access_token).from_("avatars")
    files.upload("u/a.png", PNG, {"content-type": "image/png"})

    files.update("u/a.png", b"new", {"content-type": "image/webp"})
    assert fake.objects[("avatars", "u/a.png")].content_type == "image/webp"
    removed = files.remove(["u/a.png", "u/never-there.gif"])

    assert [item["name"] for item in removed] == ["u/a.png"]
    assert fake.last_request("/storage/v1/object/avatars", "DELETE").json == {
        "prefixes": ["u/a.png", "u/never-there.gif"]
    }
    assert files.remove(["u/a.png"]) == []
    assert httpx.get(files.get_public_url("u/a.png")).json()["statusCode"] == "404"
    with pytest.raises(StorageApiError) as error:
        files.update("u/a.png", b"new")
    assert error.value.status == "404"


def test_buckets(fake, auth):
    service = storage(fake, fake.service_role_key, apikey=fake.service_role_key)
    user = storage(fake, signed_in(fake, auth).access_token)

    service.create_bucket("avatars", options={"public": True, "file_size_limit": 2097152})
    bucket = user.get_bucket("avatars")

    assert (bucket.id, bucket.public, bucket.file_size_limit) == ("avatars", True, 2097152)
    with pytest.raises(StorageApiError) as error:
        user.create_bucket("mine")
    assert (error.value.status, error.value.code) == ("403", "Unauthorized")
    with pytest.raises(StorageApiError) as error:
        service.create_bucket("avatars")
    assert (error.value.status, error.value.code) == ("409", "Duplicate")
    with pytest.raises(StorageApiError) as error:
        user.get_bucket("nope")
    assert (error.value.status, error.value.code) == ("404", "Bucket not found")


def test_storage_rejects_bad_tokens(fake):
    fake.create_bucket("avatars", public=True)
    user = fake.create_user("ada@example.com", PASSWORD)

    for token, message in [
        (fake.mint_access_token(user, expires_in=-5), '"exp" claim timestamp check failed'),
        ("not-a-jwt", "Invalid Compact JWS"),
    ]:
        with pytest.raises(StorageApiError) as error:
            storage(fake, token).from_("avatars").upload("a.png", PNG)
        assert (error.value.status, error.value.code, error.value.message) == (
            "403",
            "Unauthorized",
            message,
        )


@pytest.mark.parametrize(
    ("apikey", "message"),
    [(None, "No API key found in request"), ("wrong-key", "Invalid API key")],
)
def test_storage_needs_the_api_key_like_the_gateway(fake, auth, apikey, message):
    fake.create_bucket("avatars", public=True)
    token = signed_in(fake, auth).access_token
    headers = {"Authorization": f"Bearer {token}"} | ({"apikey": apikey} if apikey else {})
    client = SyncStorageClient(f"{fake.url}/storage/v1/", headers)

    with pytest.raises(StorageApiError) as error:
        client.from_("avatars").upload("u/a.png", PNG)

    assert message in error.value.message  # storage3 cannot parse the gateway's error shape
    assert fake.last_request("/storage/v1/object/avatars").status == 401
    assert fake.objects == {}


def test_storage_with_the_api_key_passes_the_gateway(fake, auth):
    fake.create_bucket("avatars", public=True)
    token = signed_in(fake, auth).access_token

    storage(fake, token).from_("avatars").upload("u/a.png", PNG, {"content-type": "image/png"})

    assert fake.objects[("avatars", "u/a.png")].data == PNG
    assert fake.last_request("/storage/v1/object/avatars").headers["apikey"] == fake.anon_key


def test_public_objects_need_no_api_key(fake):
    fake.create_bucket("avatars", public=True)
    fake.put_object("avatars", "u/a.png", PNG, content_type="image/png")

    response = httpx.get(f"{fake.url}/storage/v1/object/public/avatars/u/a.png")

    assert (response.status_code, response.content) == (200, PNG)
    assert "apikey" not in fake.last_request("/storage/v1/object/public/").headers


def test_self_hosted_gateway_lets_storage_check_the_token_alone(fake, auth):
    fake.storage_apikey_required = False
    fake.create_bucket("avatars", public=True)
    token = signed_in(fake, auth).access_token
    client = SyncStorageClient(f"{fake.url}/storage/v1/", {"Authorization": f"Bearer {token}"})

    client.from_("avatars").upload("u/a.png", PNG, {"content-type": "image/png"})

    assert fake.objects[("avatars", "u/a.png")].data == PNG


def test_forced_storage_failure(fake, auth):
    fake.create_bucket("avatars")
    files = storage(fake, signed_in(fake, auth).access_token).from_("avatars")
    fake.fail_next("/storage/v1/object/avatars", 503)

    with pytest.raises(StorageApiError) as error:
        files.upload("a.png", PNG, {"content-type": "image/png"})

    assert (error.value.status, http_status(error.value)) == ("503", 503)
    assert files.upload("a.png", PNG, {"content-type": "image/png"}).path == "a.png"


# -- supabase.create_client ----------------------------------------------------------------


def test_supabase_client_end_to_end(fake):
    fake.create_bucket("avatars", public=True)
    fake.create_user("ada@example.com", PASSWORD)

    client = supabase_client(fake)
    session = client.auth.sign_in_with_password(
        {"email": "ada@example.com", "password": PASSWORD}
    ).session
    client.storage.from_("avatars").upload("mine.png", PNG, {"content-type": "image/png"})
    as_user = supabase_client(fake, session.access_token)
    as_user.storage.from_("avatars").upload("theirs.png", PNG, {"content-type": "image/png"})

    assert fake.objects[("avatars", "mine.png")].owner == session.user.id
    assert fake.objects[("avatars", "theirs.png")].owner == session.user.id
    assert fake.last_request("/storage/v1/object").bearer == session.access_token


# -- the fake's own bugs ---------------------------------------------------------------------


def crash(*args):
    raise KeyError("a bug in the fake")


def list_buckets(fake: FakeSupabase) -> httpx.Response:
    key = fake.anon_key
    return httpx.get(
        f"{fake.url}/storage/v1/bucket", headers={"apikey": key, "Authorization": f"Bearer {key}"}
    )


def test_a_crash_of_the_fake_is_kept_and_fails_the_check(fake, monkeypatch):
    monkeypatch.setattr(fake, "_bucket_route", crash)

    response = list_buckets(fake)

    assert response.status_code == 500  # answered, so the client under test does not hang
    assert len(fake.crashes) == 1
    with pytest.raises(AssertionError, match=r"crashed 1 time\(s\)[\s\S]*a bug in the fake"):
        fake.assert_no_crashes()
    fake.assert_no_crashes()  # reported once


def serve_one_crash() -> None:
    with FakeSupabase() as fake:
        fake._bucket_route = crash
        list_buckets(fake)


def test_leaving_the_fake_fails_when_it_crashed():
    with pytest.raises(AssertionError, match="FakeSupabase crashed"):
        serve_one_crash()


def test_leaving_the_fake_passes_when_it_did_not_crash():
    with FakeSupabase() as fake:
        response = list_buckets(fake)

    assert response.status_code == 200
    assert fake.crashes == []
