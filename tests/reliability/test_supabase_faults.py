"""Supabase's JWKS, Auth and Storage fail or stall while gunicorn serves: bounded, then recovered.

Real processes and real timeouts: gunicorn (2 workers, production settings) on a dedicated
Postgres, a JWKSServer publishing an ES256 key, and a FakeSupabase for Auth and Storage. The
unit-level translations (every status, every error shape) are tested in tests/supabase_auth
and tests/profiles; here each fault is injected into a running deployment and timed.
"""

import io
import sys
import threading
import time
import uuid

import httpx
import jwt
import pytest
from PIL import Image

from supabase_auth import dev_tokens
from tests.reliability.stack import Gunicorn, production_env, write_artifact
from tests.subprocess_django import PRODUCTION_ENV
from tests.support.jwks_server import JWKSServer, SigningKey
from tests.support.supabase_server import FakeSupabase, auth_table_hooks

JWKS_TIMEOUT = 1.0  # SUPABASE_JWKS_TIMEOUT
JWKS_MAX_AGE = 1.0  # SUPABASE_JWKS_MAX_AGE: background refreshes happen during each test
JWKS_COOLDOWN = 1.0  # SUPABASE_JWKS_REFETCH_COOLDOWN
HTTP_TIMEOUT = 2.0  # SUPABASE_HTTP_TIMEOUT for Auth and Storage
MARGIN = 1.5  # scheduling slack on a loaded 2-core machine
HANG = HTTP_TIMEOUT + 3  # a stall well beyond every timeout
COLD_START_HANG = 60.0  # the JWKS stalls this long while gunicorn starts
COLD_START_BOUND = 30.0  # gunicorn answers long before the stall would end
WATCH = 3 * JWKS_MAX_AGE  # long enough for several background refreshes per worker
PASSWORD = "correct horse battery staple"
AUTH_UNAVAILABLE = {
    "detail": "Authentication is unavailable; try again shortly.",
    "code": "auth_unavailable",
}
STORAGE_UNAVAILABLE = {
    "detail": "Avatar storage is unavailable; try again shortly.",
    "code": "storage_unavailable",
}


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    return SigningKey("ES256", "reliability-ec-1")


@pytest.fixture(scope="module")
def figures():
    """Measured figures by fault, written to test-artifacts/reliability/supabase_faults.json."""
    measured: dict[str, dict] = {}
    yield measured
    write_artifact("supabase_faults", measured)


@pytest.fixture(scope="module")
def jwks(signing_key):
    server = JWKSServer()
    server.publish(signing_key)
    report_error = server._httpd.handle_error

    def handle_error(request, client_address) -> None:
        # A client that gave up on a slow answer is the point of these tests, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            report_error(request, client_address)

    server._httpd.handle_error = handle_error
    yield server
    server.close()


@pytest.fixture(scope="module")
def supabase(database):
    """Supabase Auth and Storage; its users and sessions are rows of the API's database too.

    So tokens pass the session check (SUPABASE_AUTH_CHECK_SESSION), as Supabase's own are.
    """
    hooks = auth_table_hooks(database.execute)
    with FakeSupabase(jwt_secret=PRODUCTION_ENV["SUPABASE_JWT_SECRET"], **hooks) as fake:
        fake.create_bucket("avatars", public=True)
        yield fake


@pytest.fixture(scope="module")
def env(database, jwks, supabase) -> dict[str, str]:
    return production_env(
        database.url,
        SUPABASE_URL=supabase.url,
        SUPABASE_ANON_KEY=supabase.anon_key,
        SUPABASE_JWKS_URL=jwks.url,
        SUPABASE_JWKS_TIMEOUT=str(JWKS_TIMEOUT),
        SUPABASE_JWKS_MAX_AGE=str(JWKS_MAX_AGE),
        SUPABASE_JWKS_REFETCH_COOLDOWN=str(JWKS_COOLDOWN),
        SUPABASE_HTTP_TIMEOUT=str(HTTP_TIMEOUT),
        API_THROTTLE_AUTH="1000/minute",  # sign-ins here test outages, not rate limits
    )


@pytest.fixture(scope="module")
def server(env, tmp_path_factory):
    gunicorn = Gunicorn(env, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log").start()
    yield gunicorn
    gunicorn.stop()


@pytest.fixture(autouse=True)
def healthy_services(jwks, supabase, signing_key):
    """Each test starts and ends with every service answering, and the fake never crashed."""
    yield
    supabase.assert_no_crashes()
    jwks.status, jwks.delay = 200, 0.0
    jwks.publish(signing_key)
    supabase.down = False
    supabase.clear_failures()


class Member:
    """A Supabase user signed in with a password (`auth.users` and `auth.sessions` rows)."""

    def __init__(self, supabase: FakeSupabase, email: str) -> None:
        self.email = email
        self.id = supabase.create_user(email, PASSWORD).id
        self.token = supabase.sign_in(email)["access_token"]
        self.session_id = jwt.decode(self.token, options={"verify_signature": False})["session_id"]


@pytest.fixture
def member(supabase) -> Member:
    return Member(supabase, f"member-{uuid.uuid4().hex[:8]}@example.com")


def es256_token(env: dict[str, str], key: SigningKey, member: Member) -> str:
    """Return a new ES256 token each call (as many users bring): none is verified from memory."""
    claims = dev_tokens.user_claims(
        uuid.UUID(member.id),
        member.email,
        session_id=uuid.UUID(member.session_id),
        iss=f"{env['SUPABASE_URL']}/auth/v1",
        jti=uuid.uuid4().hex,
    )
    return jwt.encode(claims, key.private_key, algorithm="ES256", headers={"kid": key.kid})


def timed(send) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = send()
    return response, time.monotonic() - started


def get_profile(server: Gunicorn, token: str) -> tuple[httpx.Response, float]:
    headers = {"Authorization": f"Bearer {token}"}
    return timed(lambda: httpx.get(server.url + "/api/profiles/me", headers=headers, timeout=15))


def watch_profile(server: Gunicorn, new_token, seconds: float) -> list[tuple[int, float]]:
    """Return (status, seconds) of GET /api/profiles/me sent back to back for `seconds`."""
    results = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        response, elapsed = get_profile(server, new_token())
        results.append((response.status_code, elapsed))
        time.sleep(0.02)
    return results


def signin(server: Gunicorn, email: str) -> tuple[httpx.Response, float]:
    body = {"email": email, "password": PASSWORD}
    return timed(lambda: httpx.post(server.url + "/api/auth/signin", json=body, timeout=15))


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def upload_avatar(server: Gunicorn, token: str) -> tuple[httpx.Response, float]:
    return timed(
        lambda: httpx.post(
            server.url + "/api/profiles/me/avatar",
            files={"file": ("me.png", png(), "image/png")},
            headers={"Authorization": f"Bearer {token}"},
            timeout=15,
        )
    )


def stored_avatar_url(database, member: Member) -> str | None:
    rows = database.execute("select avatar_url from profiles where id = %s", [member.id])
    return rows[0][0] if rows else None


def avatar_files(supabase: FakeSupabase, member: Member) -> list[str]:
    return [name for (bucket, name) in supabase.objects if name.startswith(f"{member.id}/")]


def assert_verification_unavailable(response: httpx.Response) -> None:
    """Assert the JSON 503 of a token whose key the API could not fetch: not its client's fault.

    A 401 `invalid_token` (RFC 6750 §3.1) tells a client holding a valid token to drop it and
    sign in again, over an outage of Supabase; a 503 `auth_unavailable` with Retry-After
    (DESIGN.md, Token rules) tells it to retry.
    """
    assert response.status_code == 503, f"{response.status_code} {response.text}"
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "code"}, body
    assert body["code"] == "auth_unavailable", body
    assert int(response.headers["Retry-After"]) > 0


# --- JWKS ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 500}, id="jwks-500"),
        pytest.param({"delay": JWKS_TIMEOUT + 2}, id="jwks-slow"),
    ],
)
def test_cached_key_keeps_authenticating_while_the_jwks_fails(
    server, env, jwks, signing_key, member, fault, figures, request
):
    assert get_profile(server, es256_token(env, signing_key, member))[0].status_code == 200
    fetches_before = jwks.requests
    jwks.status = fault.get("status", 200)
    jwks.delay = fault.get("delay", 0.0)

    results = watch_profile(server, lambda: es256_token(env, signing_key, member), WATCH)
    figures[request.node.callspec.id] = {
        "requests": len(results),
        "statuses": sorted({status for status, _ in results}),
        "max_seconds": round(max(elapsed for _, elapsed in results), 3),
        "failed_fetches": jwks.requests - fetches_before,
    }

    assert {status for status, _ in results} == {200}
    # Never waiting on the JWKS: every request is faster than one fetch attempt could be.
    assert max(elapsed for _, elapsed in results) < JWKS_TIMEOUT
    assert jwks.requests > fetches_before, "no refresh was attempted during the fault"


def test_new_key_while_the_jwks_hangs_is_a_bounded_503_then_accepted(
    server, env, jwks, signing_key, member, figures
):
    rotated = SigningKey("ES256", f"rotated-{uuid.uuid4().hex[:8]}")
    jwks.publish(signing_key, rotated)
    jwks.delay = JWKS_TIMEOUT + 2
    token = es256_token(env, rotated, member)

    during, elapsed = get_profile(server, token)
    jwks.delay = 0.0
    time.sleep(JWKS_COOLDOWN + 0.3)
    after = [get_profile(server, token)[0].status_code for _ in range(6)]
    figures["jwks-slow-new-kid"] = {"status": during.status_code, "seconds": round(elapsed, 3)}

    # Joining a refresh already in flight waits at most twice the fetch timeout.
    assert elapsed < 2 * JWKS_TIMEOUT + MARGIN
    assert after == [200] * 6
    assert_verification_unavailable(during)


def test_server_started_while_the_jwks_hangs_answers_503_then_verifies_es256(
    env, jwks, signing_key, member, tmp_path, figures
):
    jwks.delay = COLD_START_HANG  # the warm-up fetch at start must give up long before this
    started = time.monotonic()
    gunicorn = Gunicorn(env, tmp_path / "gunicorn.log").start()
    try:
        start_seconds = time.monotonic() - started
        hs256, _ = get_profile(gunicorn, member.token)
        es256_during, es256_elapsed = get_profile(gunicorn, es256_token(env, signing_key, member))
        jwks.delay = 0.0
        time.sleep(JWKS_COOLDOWN + 0.3)
        token = es256_token(env, signing_key, member)
        after = [get_profile(gunicorn, token)[0].status_code for _ in range(6)]
    finally:
        gunicorn.stop()
    figures["jwks-slow-at-start"] = {
        "start_seconds": round(start_seconds, 3),
        "es256_status": es256_during.status_code,
        "es256_seconds": round(es256_elapsed, 3),
    }

    assert start_seconds < COLD_START_BOUND, gunicorn.log()
    assert hs256.status_code == 200  # the legacy secret needs no JWKS
    assert es256_elapsed < 2 * JWKS_TIMEOUT + MARGIN
    assert after == [200] * 6
    assert_verification_unavailable(es256_during)


# --- Auth ---------------------------------------------------------------------------------


def test_signin_while_auth_is_down_is_a_quick_503_then_works_again(
    server, supabase, member, figures
):
    supabase.down = True  # every connection dropped without an answer

    during = [signin(server, member.email) for _ in range(4)]
    verified_locally, _ = get_profile(server, member.token)
    supabase.down = False
    after, _ = signin(server, member.email)
    session_token = after.json().get("access_token", "")
    figures["auth-down"] = {
        "statuses": [response.status_code for response, _ in during],
        "max_seconds": round(max(elapsed for _, elapsed in during), 3),
        "after": after.status_code,
    }

    for response, elapsed in during:
        assert response.status_code == 503
        assert response.json() == AUTH_UNAVAILABLE
        # Quick: a refused connection is answered without waiting out the Auth timeout.
        assert elapsed < HTTP_TIMEOUT
    assert verified_locally.status_code == 200  # tokens are verified without calling Auth
    assert after.status_code == 200
    assert after.json()["user_id"] == member.id
    assert get_profile(server, session_token)[0].status_code == 200


def test_signin_while_auth_hangs_is_503_after_the_timeout_then_works_again(
    server, supabase, member, figures
):
    calls_before = len(supabase.requests_to("/auth/v1/token"))
    supabase.fail_next("/auth/v1/token", hang=HANG, times=2)
    results: list[tuple[httpx.Response, float]] = []
    clients = [
        threading.Thread(target=lambda: results.append(signin(server, member.email)))
        for _ in range(2)
    ]

    # The second sign-in starts once the first is waiting on Auth: two sign-ins in flight
    # together, each bounded by the timeout.
    clients[0].start()
    deadline = time.monotonic() + MARGIN
    while len(supabase.requests_to("/auth/v1/token")) == calls_before:
        assert time.monotonic() < deadline, "the first sign-in never reached Auth"
        time.sleep(0.01)
    clients[1].start()
    for client in clients:
        client.join(timeout=HANG + 10)
    after, after_elapsed = signin(server, member.email)
    figures["auth-slow"] = {
        "statuses": [response.status_code for response, _ in results],
        "seconds": [round(elapsed, 3) for _, elapsed in results],
        "after": after.status_code,
    }

    assert len(results) == 2
    for response, elapsed in results:
        assert response.status_code == 503
        assert response.json() == AUTH_UNAVAILABLE
        assert HTTP_TIMEOUT - 0.1 < elapsed < HTTP_TIMEOUT + MARGIN
    assert after.status_code == 200
    assert after_elapsed < MARGIN
    assert len(supabase.requests_to("/auth/v1/token")) == calls_before + 3  # no retries


# --- Storage ------------------------------------------------------------------------------


def test_avatar_upload_while_storage_is_down_is_a_quick_503_then_works_again(
    server, supabase, database, member, figures
):
    supabase.fail_next("/storage/v1/", close=True, times=1000)

    during, elapsed = upload_avatar(server, member.token)
    url_during = stored_avatar_url(database, member)
    supabase.clear_failures()
    after, _ = upload_avatar(server, member.token)
    figures["storage-down"] = {
        "status": during.status_code,
        "seconds": round(elapsed, 3),
        "after": after.status_code,
    }

    assert during.status_code == 503
    assert during.json() == STORAGE_UNAVAILABLE
    # Quick: a dropped connection is answered without waiting out the Storage timeout.
    assert elapsed < HTTP_TIMEOUT
    assert url_during is None
    assert after.status_code == 200
    assert after.json()["avatar_url"] == stored_avatar_url(database, member)
    assert avatar_files(supabase, member) == [f"{member.id}/avatar.png"]


def test_avatar_upload_while_storage_hangs_is_503_after_the_timeout_then_works_again(
    server, supabase, database, member, figures
):
    supabase.fail_next("/storage/v1/object/avatars", hang=HANG, method="POST")

    during, elapsed = upload_avatar(server, member.token)
    url_during = stored_avatar_url(database, member)
    after, after_elapsed = upload_avatar(server, member.token)
    figures["storage-slow"] = {
        "status": during.status_code,
        "seconds": round(elapsed, 3),
        "after": after.status_code,
    }

    assert during.status_code == 503
    assert during.json() == STORAGE_UNAVAILABLE
    assert HTTP_TIMEOUT - 0.1 < elapsed < HTTP_TIMEOUT + MARGIN
    assert url_during is None
    assert after.status_code == 200
    assert after_elapsed < MARGIN
    assert after.json()["avatar_url"] == stored_avatar_url(database, member)
