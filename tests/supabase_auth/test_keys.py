"""The JWKS cache against a real local JWKS server: fetch once, rotate, survive outages."""

import base64
import os
import socket
import threading
import time
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from profiles.models import Profile
from supabase_auth import keys, tokens
from tests.support.http import bearer
from tests.support.jwks_server import SigningKey

pytestmark = pytest.mark.urls("tests.supabase_auth.urls")

ROTATED_KEY = SigningKey("ES256", "ec-key-2")
STALE = 0.15  # long enough for the fast_refresh keys to be stale
OCT_SECRET = b"a-symmetric-secret-published-by-mistake-0123456789"
BROKEN_EC_ENTRY = {"kid": "broken", "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}


def wait_until(condition, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def timed_get(client, token: str):
    started = time.monotonic()
    response = client.get("/whoami", **bearer(token))
    return response, time.monotonic() - started


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/auth/v1/.well-known/jwks.json"


@pytest.fixture
def fast_refresh(jwks_server, settings):
    """Keys go stale after 0.1 s and a failing endpoint is retried after 0.1 s."""
    settings.SUPABASE_JWKS_MAX_AGE = 0.1
    settings.SUPABASE_JWKS_REFETCH_COOLDOWN = 0.1
    return jwks_server


@pytest.fixture
def es_token(make_token, ec_key):
    return make_token(alg="ES256", key=ec_key)


# --- fetching -----------------------------------------------------------------------------


def test_keys_are_fetched_once_for_many_requests(
    api_client, make_token, jwks_server, ec_key, rsa_key, user
):
    tokens_ = [make_token(alg="ES256", key=ec_key), make_token(alg="RS256", key=rsa_key)] * 10

    statuses = [api_client.get("/whoami", **bearer(t)).status_code for t in tokens_]

    assert statuses == [200] * 20
    assert jwks_server.requests == 1
    assert Profile.objects.filter(id=user.id).count() == 1


def test_concurrent_first_requests_share_one_fetch(jwks_server, es_token, user):
    jwks_server.delay = 0.2
    barrier = threading.Barrier(8)
    subjects = []

    def verify() -> None:
        barrier.wait()
        subjects.append(tokens.verify(es_token).sub)

    threads = [threading.Thread(target=verify) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert subjects == [user.id] * 8
    assert jwks_server.requests == 1


def test_warm_up_loads_the_keys_so_requests_do_not_fetch(api_client, jwks_server, es_token):
    keys.warm_up()
    fetched_at_start = jwks_server.requests

    response = api_client.get("/whoami", **bearer(es_token))

    assert fetched_at_start == 1
    assert response.status_code == 200
    assert jwks_server.requests == 1


def test_failed_warm_up_lets_the_first_request_fetch(api_client, jwks_server, es_token):
    jwks_server.status = 503
    keys.warm_up()
    jwks_server.status = 200

    response = api_client.get("/whoami", **bearer(es_token))

    assert response.status_code == 200
    assert jwks_server.requests == 2


# --- rotation -----------------------------------------------------------------------------


def test_rotated_in_key_is_accepted_after_exactly_one_refetch(
    api_client, make_token, jwks_server, ec_key, rsa_key, es_token
):
    keys.warm_up()
    assert api_client.get("/whoami", **bearer(es_token)).status_code == 200
    jwks_server.publish(ec_key, rsa_key, ROTATED_KEY)
    new_token = make_token(alg="ES256", key=ROTATED_KEY)

    first = api_client.get("/whoami", **bearer(new_token))
    second = api_client.get("/whoami", **bearer(new_token))

    assert (first.status_code, second.status_code) == (200, 200)
    assert jwks_server.requests == 2


def test_rotated_out_key_is_refused_once_the_cache_refreshes(
    api_client, make_token, fast_refresh, ec_key, rsa_key, es_token
):
    assert api_client.get("/whoami", **bearer(es_token)).status_code == 200
    fast_refresh.publish(ROTATED_KEY, rsa_key)
    new_token = make_token(alg="ES256", key=ROTATED_KEY)
    time.sleep(STALE)

    # Stale keys still serve while the refresh runs in the background.
    during_refresh = api_client.get("/whoami", **bearer(es_token))
    wait_until(lambda: keys.jwks().known(ec_key.kid) is None)
    old = api_client.get("/whoami", **bearer(es_token))
    new = api_client.get("/whoami", **bearer(new_token))

    assert during_refresh.status_code == 200
    assert old.status_code == 401
    assert old.json()["code"] == "token_invalid"
    assert new.status_code == 200


def test_flood_of_unknown_kids_refetches_at_most_once_per_cooldown(
    api_client, make_token, jwks_server, ec_key, es_token
):
    keys.warm_up()
    flood = [make_token(alg="ES256", key=ec_key, kid=uuid.uuid4().hex) for _ in range(50)]

    responses = [api_client.get("/whoami", **bearer(t)) for t in flood]
    control = api_client.get("/whoami", **bearer(es_token))

    assert {r.status_code for r in responses} == {401}
    assert {r.json()["code"] for r in responses} == {"token_invalid"}
    assert jwks_server.requests == 2  # the warm-up, then one refetch for the whole flood
    assert control.status_code == 200


# --- outages and slowness -----------------------------------------------------------------


def break_status(server) -> None:
    server.status = 500


def break_body(server) -> None:
    server.body = b"<html>Bad gateway</html>"


def break_shape(server) -> None:
    server.body = b'{"keys": "none"}'


@pytest.mark.parametrize("break_server", [break_status, break_body, break_shape])
def test_outage_after_caching_keeps_the_cached_keys(
    api_client, fast_refresh, es_token, ec_key, break_server
):
    assert api_client.get("/whoami", **bearer(es_token)).status_code == 200
    break_server(fast_refresh)
    time.sleep(STALE)

    during = api_client.get("/whoami", **bearer(es_token))
    wait_until(lambda: fast_refresh.requests == 2)
    after = [api_client.get("/whoami", **bearer(es_token)).status_code for _ in range(5)]

    assert during.status_code == 200
    assert after == [200] * 5
    assert keys.jwks().known(ec_key.kid) is not None
    assert fast_refresh.requests == 2  # a failing endpoint is retried once per cooldown


def test_slow_jwks_never_delays_a_request_with_a_known_kid(api_client, fast_refresh, es_token):
    assert api_client.get("/whoami", **bearer(es_token)).status_code == 200
    fast_refresh.delay = 3
    time.sleep(STALE)

    response, elapsed = timed_get(api_client, es_token)

    assert response.status_code == 200
    assert elapsed < 0.3
    wait_until(lambda: fast_refresh.requests == 2)  # the refresh did start, in the background


def test_unknown_kid_on_a_slow_jwks_is_a_503_within_the_timeout(
    api_client, make_token, jwks_server, ec_key
):
    jwks_server.delay = 3
    token = make_token(alg="ES256", key=ec_key)

    response, elapsed = timed_get(api_client, token)

    # The token may be valid: the keys are what is missing, so the client keeps its token.
    assert response.status_code == 503
    assert response.json()["code"] == "auth_unavailable"
    assert response["Retry-After"]
    assert elapsed < 1.5  # SUPABASE_JWKS_TIMEOUT is 0.5 s, the server takes 3 s


def test_unknown_kid_joining_a_slow_refresh_waits_a_bounded_time(
    api_client, make_token, fast_refresh, ec_key, es_token
):
    assert api_client.get("/whoami", **bearer(es_token)).status_code == 200
    fast_refresh.delay = 3
    time.sleep(STALE)
    assert api_client.get("/whoami", **bearer(es_token)).status_code == 200  # starts the refresh

    response, elapsed = timed_get(api_client, make_token(alg="ES256", key=ec_key, kid="new"))

    assert response.status_code == 503  # the refresh that may hold the new key is not done
    assert response.json()["code"] == "auth_unavailable"
    assert elapsed < 1.5


@pytest.fixture
def slow_refetch(jwks_server, settings, ec_key):
    """Keys in memory; then the JWKS takes 2 s to answer, within a 3 s timeout."""
    settings.SUPABASE_JWKS_TIMEOUT = 3
    settings.SUPABASE_JWKS_WAIT = 0.2
    keys.warm_up()
    jwks_server.delay = 2
    return jwks_server


def test_unknown_kid_waits_for_a_slow_refetch_only_the_jwks_wait(
    api_client, make_token, slow_refetch, ec_key, rsa_key, user
):
    slow_refetch.publish(ec_key, rsa_key, ROTATED_KEY)
    token = make_token(alg="ES256", key=ROTATED_KEY)

    response, elapsed = timed_get(api_client, token)

    # A single-threaded worker serves nothing else while a request waits: 0.2 s, not 2 s.
    assert response.status_code == 503
    assert response.json() == {
        "detail": "Token signing keys cannot be fetched right now.",
        "code": "auth_unavailable",
    }
    assert elapsed < 1.5
    assert not Profile.objects.filter(id=user.id).exists()


def test_refetch_an_unknown_kid_started_completes_in_the_background(
    api_client, make_token, slow_refetch, ec_key, rsa_key, user
):
    slow_refetch.publish(ec_key, rsa_key, ROTATED_KEY)
    token = make_token(alg="ES256", key=ROTATED_KEY)
    assert api_client.get("/whoami", **bearer(token)).status_code == 503

    wait_until(lambda: keys.jwks().known(ROTATED_KEY.kid) is not None, timeout=10)
    response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    assert response.json()["id"] == str(user.id)
    assert slow_refetch.requests == 2  # the warm-up, then the one refetch


def test_requests_joining_a_slow_refetch_share_one_wait(
    api_client, make_token, slow_refetch, ec_key
):
    tokens_ = [make_token(alg="ES256", key=ec_key, kid=f"new-{n}") for n in range(10)]

    started = time.monotonic()
    responses = [api_client.get("/whoami", **bearer(t)) for t in tokens_]
    elapsed = time.monotonic() - started

    # Ten requests in a row (one worker's queue) wait 0.2 s in all, not 0.2 s each.
    assert {r.status_code for r in responses} == {503}
    assert {r.json()["code"] for r in responses} == {"auth_unavailable"}
    assert elapsed < 1.5
    assert slow_refetch.requests == 2


def test_503_during_a_refetch_says_to_retry_when_the_fetch_has_ended(
    api_client, make_token, jwks_server, ec_key, settings
):
    settings.SUPABASE_JWKS_REFETCH_COOLDOWN = 0
    keys.warm_up()
    jwks_server.delay = 3  # the fetch gives up after 2 x 0.5 s at most

    response = api_client.get("/whoami", **bearer(make_token(alg="ES256", key=ec_key, kid="x")))

    assert response.status_code == 503
    assert response.json()["code"] == "auth_unavailable"
    assert response["Retry-After"] == "1"


def test_503_after_a_failed_refetch_says_to_retry_after_the_cooldown(
    api_client, make_token, jwks_server, ec_key, settings
):
    settings.SUPABASE_JWKS_REFETCH_COOLDOWN = 30
    keys.warm_up()
    jwks_server.status = 500
    first = api_client.get("/whoami", **bearer(make_token(alg="ES256", key=ec_key, kid="a")))

    second = api_client.get("/whoami", **bearer(make_token(alg="ES256", key=ec_key, kid="b")))

    assert (first.status_code, second.status_code) == (503, 503)
    assert second.json()["code"] == "auth_unavailable"
    assert 25 <= int(second["Retry-After"]) <= 30  # no fetch is tried again before then
    assert jwks_server.requests == 2


def test_jwks_fetch_names_this_api_as_its_user_agent(jwks_server, settings):
    settings.SUPABASE_ANON_KEY = "sb_publishable_test"

    keys.warm_up()

    # urllib's own "Python-urllib/3.x" is refused by some CDN bot rules (jpadilla/pyjwt#1121).
    assert jwks_server.last_headers["User-Agent"] == keys.USER_AGENT
    assert jwks_server.last_headers["apikey"] == "sb_publishable_test"
    assert keys.jwks().healthy


def test_empty_key_set_is_healthy_so_an_unknown_kid_is_401(
    api_client, make_token, jwks_server, ec_key, user
):
    jwks_server.keys = []  # a project still on the legacy secret publishes no keys

    response = api_client.get("/whoami", **bearer(make_token(alg="ES256", key=ec_key)))
    control = api_client.get("/whoami", **bearer(make_token()))

    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    assert control.status_code == 200
    assert jwks_server.requests == 1


def test_forked_child_fetches_keys_although_the_parent_forked_mid_fetch(
    jwks_server, ec_key, rsa_key, settings
):
    settings.SUPABASE_JWKS_REFETCH_COOLDOWN = 0
    settings.SUPABASE_JWKS_TIMEOUT = 3
    settings.SUPABASE_JWKS_WAIT = 0.1
    keys.warm_up()
    jwks_server.delay = 1
    jwks_server.publish(ec_key, rsa_key, ROTATED_KEY)
    assert keys.jwks().get(ROTATED_KEY.kid) is None  # a refetch is now in flight
    jwks_server.delay = 0

    pid = os.fork()
    if pid == 0:  # the child: no refresh thread came along, its bookkeeping must say so
        found = False
        try:
            found = keys.jwks().get(ROTATED_KEY.kid) is not None
        finally:
            os._exit(0 if found else 1)
    _, status = os.waitpid(pid, 0)

    assert os.waitstatus_to_exitcode(status) == 0


def refuse_connections(server, settings) -> None:
    settings.SUPABASE_JWKS_URL = closed_port_url()


@pytest.mark.parametrize(
    "break_jwks",
    [
        lambda server, settings: break_status(server),
        lambda server, settings: break_body(server),
        lambda server, settings: break_shape(server),
        refuse_connections,
        lambda server, settings: setattr(server, "status", 302),  # redirects are not followed
    ],
    ids=["status_500", "garbage_body", "not_a_jwks", "connection_refused", "redirect"],
)
def test_cold_start_with_jwks_down_is_503(
    api_client, jwks_server, settings, es_token, user, break_jwks
):
    break_jwks(jwks_server, settings)

    response = api_client.get("/whoami", **bearer(es_token))

    assert response.status_code == 503
    assert response.json() == {
        "detail": "Token signing keys cannot be fetched right now.",
        "code": "auth_unavailable",
    }
    assert not Profile.objects.filter(id=user.id).exists()


def test_unknown_kid_on_a_healthy_jwks_is_401(api_client, make_token, jwks_server, ec_key):
    response = api_client.get("/whoami", **bearer(make_token(alg="ES256", key=ec_key, kid="nope")))

    assert response.status_code == 401
    assert response.json()["code"] == "token_invalid"
    assert jwks_server.requests == 1


# --- what the JWKS may contain ------------------------------------------------------------


def ec_jwk(kid: str, curve: ec.EllipticCurve, alg: str) -> dict:
    public = ec.generate_private_key(curve).public_key()
    return ECAlgorithm.to_jwk(public, as_dict=True) | {"kid": kid, "alg": alg}


def test_parse_jwks_accepts_an_empty_key_list():
    assert keys.parse_jwks({"keys": []}) == {}


@pytest.mark.parametrize("document", [[], "keys", None, {}, {"keys": {}}, {"keys": "x"}])
def test_parse_jwks_rejects_a_document_that_is_not_a_jwks(document):
    with pytest.raises(keys.JWKSUnavailable):
        keys.parse_jwks(document)


def test_parse_jwks_keeps_es256_and_rs256_signing_keys(ec_key, rsa_key):
    parsed = keys.parse_jwks({"keys": [ec_key.public_jwk, rsa_key.public_jwk]})

    assert {kid: key.algorithm for kid, key in parsed.items()} == {
        "ec-key-1": "ES256",
        "rsa-key-1": "RS256",
    }


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param({"use": "enc"}, id="use_enc"),
        pytest.param({"key_ops": ["encrypt"]}, id="key_ops_without_verify"),
        pytest.param({"alg": "RS512"}, id="rs512"),
    ],
)
def test_parse_jwks_skips_keys_not_for_verifying_user_tokens(rsa_key, ec_key, entry):
    skipped = rsa_key.public_jwk | {"kid": "skipped"} | entry

    parsed = keys.parse_jwks({"keys": [skipped, ec_key.public_jwk]})

    assert list(parsed) == [ec_key.kid]


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(lambda: ec_jwk("p384", ec.SECP384R1(), "ES384"), id="es384"),
        pytest.param(
            lambda: (
                OKPAlgorithm.to_jwk(ed25519.Ed25519PrivateKey.generate().public_key(), as_dict=True)
                | {"kid": "ed", "alg": "EdDSA"}
            ),
            id="eddsa",
        ),
        pytest.param(
            lambda: {
                "kid": "oct",
                "kty": "oct",
                "alg": "HS256",
                "k": base64.urlsafe_b64encode(OCT_SECRET).rstrip(b"=").decode(),
            },
            id="oct_hs256",
        ),
    ],
)
def test_parse_jwks_skips_unsupported_algorithms(ec_key, entry):
    parsed = keys.parse_jwks({"keys": [entry(), ec_key.public_jwk]})

    assert list(parsed) == [ec_key.kid]


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param("not-an-object", id="string"),
        pytest.param(None, id="null"),
        pytest.param({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, id="no_kid"),
        pytest.param({"kid": 7, "kty": "RSA", "n": "AQAB", "e": "AQAB"}, id="kid_not_a_string"),
        pytest.param({"kid": "no-kty"}, id="no_kty"),
        pytest.param({"kid": "odd", "kty": "XYZ"}, id="unknown_kty"),
        pytest.param(BROKEN_EC_ENTRY, id="truncated_ec_coordinates"),
        pytest.param({"kid": "rsa", "kty": "RSA", "n": 5, "e": "AQAB"}, id="rsa_n_not_a_string"),
        pytest.param({"kid": "ops", "kty": "EC", "key_ops": None}, id="key_ops_null"),
    ],
)
def test_parse_jwks_skips_malformed_entries(ec_key, entry):
    parsed = keys.parse_jwks({"keys": [entry, ec_key.public_jwk]})

    assert list(parsed) == [ec_key.kid]


def test_malformed_jwks_entry_does_not_stop_valid_keys_from_working(
    api_client, jwks_server, ec_key, rsa_key, es_token, user
):
    jwks_server.keys = [BROKEN_EC_ENTRY, ec_key.public_jwk, rsa_key.public_jwk]

    response = api_client.get("/whoami", **bearer(es_token))

    assert response.status_code == 200
    assert response.json()["id"] == str(user.id)


def test_warm_up_survives_a_malformed_jwks_entry(jwks_server, ec_key, rsa_key):
    # config/wsgi.py calls warm_up() at start: one bad entry must not stop the server.
    jwks_server.keys = [BROKEN_EC_ENTRY, ec_key.public_jwk, rsa_key.public_jwk]

    keys.warm_up()

    assert keys.jwks().known(ec_key.kid) is not None


def test_hmac_key_published_in_the_jwks_is_never_used(
    api_client, make_token, jwks_server, ec_key, user
):
    oct_entry = {
        "kid": "oct-1",
        "kty": "oct",
        "alg": "HS256",
        "use": "sig",
        "k": base64.urlsafe_b64encode(OCT_SECRET).rstrip(b"=").decode(),
    }
    jwks_server.keys = [ec_key.public_jwk, oct_entry]
    keys.warm_up()

    as_hs256 = api_client.get("/whoami", **bearer(make_token(key=OCT_SECRET, kid="oct-1")))
    as_es256 = api_client.get("/whoami", **bearer(make_token(alg="ES256", key=ec_key, kid="oct-1")))
    control = api_client.get("/whoami", **bearer(make_token()))

    assert as_hs256.status_code == 401
    assert as_hs256.json()["code"] == "token_invalid"
    assert as_es256.status_code == 401
    assert as_es256.json()["code"] == "token_invalid"
    assert control.status_code == 200
    assert keys.jwks().known("oct-1") is None


def test_deeply_nested_jwks_body_is_an_outage_not_a_500(api_client, jwks_server, es_token):
    jwks_server.body = b"[" * 100_000 + b"]" * 100_000

    response = api_client.get("/whoami", **bearer(es_token))

    assert response.status_code == 503
    assert response.json()["code"] == "auth_unavailable"
