"""SupabaseAuthentication over HTTP: real signed tokens through the real DRF class."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt.algorithms import ECAlgorithm

from profiles.models import Profile
from supabase_auth import dev_tokens, keys
from tests.factories import make_profile, make_session
from tests.support.http import bearer
from tests.support.jwks_server import SigningKey

pytestmark = pytest.mark.urls("tests.supabase_auth.urls")

# Generated once for the module: a key the JWKS never publishes, under the published EC kid.
ATTACKER_EC_KEY = SigningKey("ES256", "ec-key-1")
LEEWAY = 30  # settings.SUPABASE_JWT_LEEWAY


def now() -> int:
    return int(time.time())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: object) -> str:
    return b64url(json.dumps(value).encode())


def hmac_token(header: dict, payload: dict, secret: bytes, digest=hashlib.sha256) -> str:
    """Sign with HMAC whatever the header says (PyJWT refuses to forge such tokens)."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    signature = hmac.new(secret, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64url(signature)}"


def public_pem(key: SigningKey) -> bytes:
    return key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def profile_exists(user_id) -> bool:
    return Profile.objects.filter(id=user_id).exists()


def assert_refused(response, code: str) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body == {"detail": body["detail"], "code": code}
    assert isinstance(body["detail"], str)
    assert body["detail"]
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="api", error="invalid_token", error_description="')


class Forge:
    """Build tokens for the refusal matrix: valid claims for `user`, bent one way at a time."""

    def __init__(self, make_token, user, ec_key, rsa_key, secret: str) -> None:
        self.make_token = make_token
        self.user = user
        self.ec_key = ec_key
        self.rsa_key = rsa_key
        self.secret = secret.encode()

    def claims(self, **changes) -> dict:
        payload = dev_tokens.user_claims(self.user.id, self.user.email) | changes
        return {name: value for name, value in payload.items() if value is not None}

    def hs256(self, header: dict, secret: bytes | None = None, **changes) -> str:
        return hmac_token(header, self.claims(**changes), secret or self.secret)

    def hmac_sha(self, bits: int) -> str:
        """Sign with the real secret, using HS256 (the positive control), HS384 or HS512."""
        digest = {256: hashlib.sha256, 384: hashlib.sha384, 512: hashlib.sha512}[bits]
        return hmac_token({"alg": f"HS{bits}", "typ": "JWT"}, self.claims(), self.secret, digest)

    def unsigned(self, alg: str) -> str:
        return f"{segment({'alg': alg, 'typ': 'JWT'})}.{segment(self.claims())}."

    def api_key(self, role: str) -> str:
        payload = {
            "iss": "supabase",
            "ref": "abc",
            "role": role,
            "iat": now(),
            "exp": now() + 10**8,
        }
        return jwt.encode(payload, self.secret, algorithm="HS256")

    def tampered(self) -> str:
        header, _, signature = self.make_token().split(".")
        return f"{header}.{segment(self.claims(sub=str(uuid.uuid4())))}.{signature}"

    def with_embedded_jwk(self) -> str:
        jwk = ECAlgorithm.to_jwk(ATTACKER_EC_KEY.private_key.public_key(), as_dict=True)
        return self.make_token(alg="ES256", key=ATTACKER_EC_KEY, headers={"jwk": jwk})


REFUSED = [
    # Algorithms that are not allowed, whatever the key.
    ("alg_none", "token_invalid", lambda f: f.unsigned("none")),
    ("alg_None", "token_invalid", lambda f: f.unsigned("None")),
    ("alg_NONE", "token_invalid", lambda f: f.unsigned("NONE")),
    ("alg_HS384", "token_invalid", lambda f: f.hmac_sha(384)),
    ("alg_HS512", "token_invalid", lambda f: f.hmac_sha(512)),
    ("alg_PS256", "token_invalid", lambda f: f.make_token(alg="PS256", key=f.rsa_key)),
    ("alg_missing", "token_invalid", lambda f: f.hs256({"typ": "JWT"})),
    ("alg_not_a_string", "token_invalid", lambda f: f.hs256({"alg": ["HS256"], "typ": "JWT"})),
    # Algorithm confusion (RFC 8725 §2.1): a public key used as an HMAC secret.
    (
        "hs256_signed_with_ec_public_pem_under_ec_kid",
        "token_invalid",
        lambda f: f.hs256({"alg": "HS256", "kid": f.ec_key.kid}, secret=public_pem(f.ec_key)),
    ),
    (
        "hs256_signed_with_rsa_public_pem_without_kid",
        "token_invalid",
        lambda f: f.hs256({"alg": "HS256"}, secret=public_pem(f.rsa_key)),
    ),
    (
        "hs256_with_real_secret_naming_ec_kid",
        "token_invalid",
        lambda f: f.make_token(kid=f.ec_key.kid),
    ),
    # Wrong keys.
    ("hs256_wrong_secret", "token_invalid", lambda f: f.make_token(key="x" * 48)),
    (
        "es256_attacker_key_under_real_kid",
        "token_invalid",
        lambda f: f.make_token(alg="ES256", key=ATTACKER_EC_KEY),
    ),
    ("es256_embedded_jwk_header", "token_invalid", lambda f: f.with_embedded_jwk()),
    (
        "es256_unknown_kid",
        "token_invalid",
        lambda f: f.make_token(alg="ES256", key=f.ec_key, kid="no-such-kid"),
    ),
    (
        "es256_without_kid",
        "token_invalid",
        lambda f: jwt.encode(f.claims(), f.ec_key.private_key, algorithm="ES256"),
    ),
    (
        "rs256_header_with_ec_kid",
        "token_invalid",
        lambda f: f.make_token(alg="RS256", key=f.rsa_key, kid=f.ec_key.kid),
    ),
    (
        "es256_header_with_rsa_kid",
        "token_invalid",
        lambda f: f.make_token(alg="ES256", key=f.ec_key, kid=f.rsa_key.kid),
    ),
    # Time.
    (
        "expired_beyond_leeway",
        "token_expired",
        lambda f: f.make_token(iat=now() - 3600, exp=now() - LEEWAY - 30),
    ),
    ("iat_in_future", "token_invalid", lambda f: f.make_token(iat=now() + LEEWAY + 60)),
    ("nbf_in_future", "token_invalid", lambda f: f.make_token(nbf=now() + LEEWAY + 60)),
    # Required claims.
    ("missing_exp", "token_invalid", lambda f: f.make_token(exp=None)),
    ("missing_iat", "token_invalid", lambda f: f.make_token(iat=None)),
    ("missing_sub", "token_invalid", lambda f: f.make_token(sub=None)),
    ("missing_aud", "token_invalid", lambda f: f.make_token(aud=None)),
    ("missing_iss", "token_invalid", lambda f: f.make_token(iss=None)),
    ("sub_not_a_uuid", "token_invalid", lambda f: f.make_token(sub="not-a-uuid")),
    ("sub_uuid_in_braces", "token_invalid", lambda f: f.make_token(sub=f"{{{f.user.id}}}")),
    ("sub_uuid_bare_hex", "token_invalid", lambda f: f.make_token(sub=f.user.id.hex)),
    ("sub_uuid_urn", "token_invalid", lambda f: f.make_token(sub=f.user.id.urn)),
    ("session_id_not_a_uuid", "token_invalid", lambda f: f.make_token(session_id="s-1")),
    ("wrong_aud", "token_invalid", lambda f: f.make_token(aud="service")),
    (
        "wrong_iss",
        "token_invalid",
        lambda f: f.make_token(iss="https://attacker.supabase.co/auth/v1"),
    ),
    # Credentials that are valid but are not a signed-in user's.
    ("role_anon", "token_not_user", lambda f: f.make_token(role="anon")),
    ("role_service_role", "token_not_user", lambda f: f.make_token(role="service_role")),
    ("role_missing", "token_not_user", lambda f: f.make_token(role=None)),
    (
        "role_not_a_string_and_no_aud",
        "token_invalid",
        lambda f: f.make_token(role=["anon"], aud=None),
    ),
    ("legacy_anon_key", "token_not_user", lambda f: f.api_key("anon")),
    ("legacy_service_role_key", "token_not_user", lambda f: f.api_key("service_role")),
    ("publishable_key", "token_not_user", lambda f: "sb_publishable_" + "a" * 32),
    ("secret_key", "token_not_user", lambda f: "sb_secret_" + "a" * 32),
    # Malformed tokens.
    ("garbage", "token_invalid", lambda f: "garbage"),
    ("two_segments", "token_invalid", lambda f: f.make_token().rsplit(".", 1)[0]),
    ("empty_segments", "token_invalid", lambda f: ".."),
    ("bad_base64", "token_invalid", lambda f: "!!!.@@@.###"),
    (
        "header_json_not_an_object",
        "token_invalid",
        lambda f: f"{segment(['HS256'])}.{segment(f.claims())}.c2ln",
    ),
    (
        "header_nested_too_deep",
        "token_invalid",
        lambda f: f"{b64url(b'[' * 5000 + b']' * 5000)}.{segment(f.claims())}.c2ln",
    ),
    ("payload_tampered_after_signing", "token_invalid", lambda f: f.tampered()),
    ("kid_is_an_int", "token_invalid", lambda f: f.hs256({"alg": "HS256", "kid": 7})),
    ("email_wrong_type", "token_invalid", lambda f: f.make_token(email=["a@example.com"])),
    ("app_metadata_wrong_type", "token_invalid", lambda f: f.make_token(app_metadata="admin")),
    ("user_metadata_wrong_type", "token_invalid", lambda f: f.make_token(user_metadata=[1])),
    (
        "token_of_20_kb",
        "token_invalid",
        lambda f: f.make_token(user_metadata={"bio": "x" * 20 * 1024}),
    ),
    # Headers: "Bearer " + these.
    ("non_ascii_bytes", "token_invalid", lambda f: "eyJ\xe9\xff.\xe0\xe8.\xfc"),
    ("bearer_without_token", "token_invalid", lambda f: ""),
    ("bearer_with_two_tokens", "token_invalid", lambda f: "a b"),
]


@pytest.fixture
def forge(make_token, user, ec_key, rsa_key, jwks_server, settings):
    # As config/wsgi.py does at start: the JWKS is in memory before the first request.
    keys.warm_up()
    return Forge(make_token, user, ec_key, rsa_key, settings.SUPABASE_JWT_SECRET)


def test_refusal_matrix_has_at_least_30_distinct_cases():
    assert len({case_id for case_id, _, _ in REFUSED}) == len(REFUSED) >= 30


@pytest.mark.parametrize(
    ("build", "code"),
    [pytest.param(build, code, id=case_id) for case_id, code, build in REFUSED],
)
def test_refused_token_is_401_with_stable_code(api_client, forge, user, build, code):
    header = f"Bearer {build(forge)}"

    response = api_client.get("/whoami", HTTP_AUTHORIZATION=header)

    assert_refused(response, code)
    assert not profile_exists(user.id)


# Positive controls: the hand-made tokens above, with nothing bent, are accepted, so each refusal
# comes from the one thing its case bends, not from how the token was made.
UNBENT_FORGERIES = [
    ("hs256_hand_signed", lambda f: f.hs256({"alg": "HS256", "typ": "JWT"})),
    ("hs256_hand_signed_without_typ", lambda f: f.hs256({"alg": "HS256"})),
    ("hmac_sha_256", lambda f: f.hmac_sha(256)),
]


@pytest.mark.parametrize(
    "build", [pytest.param(build, id=case_id) for case_id, build in UNBENT_FORGERIES]
)
def test_hand_forged_token_with_nothing_bent_is_accepted(api_client, forge, user, build, settings):
    settings.SUPABASE_AUTH_CHECK_SESSION = (
        False  # its session id is made up; the check has its own tests
    )

    response = api_client.get("/whoami", HTTP_AUTHORIZATION=f"Bearer {build(forge)}")

    assert response.status_code == 200
    assert response.json()["id"] == str(user.id)
    assert profile_exists(user.id)


@pytest.mark.parametrize("alg", ["HS256", "ES256", "RS256"])
def test_valid_token_is_accepted(api_client, make_token, jwks_server, user, request, alg):
    key = {"HS256": None, "ES256": "ec_key", "RS256": "rsa_key"}[alg]
    session_id = make_session(user.id)
    token = make_token(
        alg=alg,
        key=request.getfixturevalue(key) if key else None,
        session_id=str(session_id),
        user_metadata={"full_name": "Ada Lovelace"},
    )

    response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(user.id)
    assert body["email"] == user.email
    assert body["role"] == "authenticated"
    assert body["aal"] == "aal1"
    assert body["is_anonymous"] is False
    assert body["session_id"] == str(session_id)
    assert body["app_metadata"] == {"provider": "email", "providers": ["email"]}
    assert body["user_metadata"] == {"full_name": "Ada Lovelace"}
    assert body["profile"] == {
        "id": str(user.id),
        "email": user.email,
        "name": "Ada Lovelace",
        "avatar_url": None,
    }
    assert response.renderer_context["request"].auth == token
    assert Profile.objects.get(id=user.id).email == user.email


def test_bearer_keyword_is_case_insensitive(api_client, make_token, user):
    response = api_client.get("/whoami", HTTP_AUTHORIZATION=f"bearer {make_token()}")

    assert response.status_code == 200
    assert response.json()["id"] == str(user.id)


def test_hs256_token_with_a_kid_missing_from_the_jwks_is_accepted(
    api_client, make_token, jwks_server, user
):
    keys.warm_up()
    token = make_token(kid="legacy-hs256-kid")

    response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    assert response.json()["id"] == str(user.id)


def test_hs256_and_es256_tokens_work_side_by_side(api_client, make_token, jwks_server, ec_key):
    other = make_profile("other@example.com")
    hs_token = make_token()
    es_token = make_token(alg="ES256", key=ec_key, sub=str(other.id), email=other.email)

    responses = [api_client.get("/whoami", **bearer(t)) for t in (hs_token, es_token, hs_token)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert [r.json()["email"] for r in responses] == [
        "user@example.com",
        "other@example.com",
        "user@example.com",
    ]


def test_audience_list_containing_authenticated_is_accepted(api_client, make_token, user):
    token = make_token(aud=["other-api", "authenticated"])

    response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    assert response.json()["id"] == str(user.id)


def test_expiry_just_inside_the_leeway_is_accepted(api_client, make_token, user):
    token = make_token(iat=now() - 3600, exp=now() - LEEWAY + 10)

    response = api_client.get("/whoami", **bearer(token))

    assert response.status_code == 200
    assert response.json()["id"] == str(user.id)


def test_hs256_is_refused_when_no_secret_is_configured(api_client, make_token, user, settings):
    token = make_token()
    settings.SUPABASE_JWT_SECRET = ""

    response = api_client.get("/whoami", **bearer(token))

    assert_refused(response, "token_invalid")
    assert not profile_exists(user.id)


def test_hs256_token_naming_an_asymmetric_kid_is_refused_before_the_jwks_is_loaded(
    api_client, make_token, jwks_server, ec_key, user
):
    # The same token as the warm-cache matrix case; the verdict must not depend on whether
    # this process has fetched the JWKS yet (an ASGI server or a failed warm-up never has).
    token = make_token(kid=ec_key.kid)

    response = api_client.get("/whoami", **bearer(token))

    assert_refused(response, "token_invalid")
    assert not profile_exists(user.id)


def test_deleted_user_is_refused_without_creating_a_profile(api_client, committed_db, make_token):
    ghost = uuid.uuid4()
    token = make_token(sub=str(ghost), email="ghost@example.com")

    response = api_client.get("/whoami", **bearer(token))

    assert_refused(response, "user_not_found")
    assert not profile_exists(ghost)
    assert not Profile.objects.filter(email="ghost@example.com").exists()


def test_no_credentials_leave_a_public_view_anonymous(api_client, db):
    response = api_client.get("/public")

    assert response.status_code == 200
    assert response.json() == {"authenticated": False}
    assert Profile.objects.count() == 0


def test_no_credentials_are_challenged_without_an_error(api_client, db):
    response = api_client.get("/whoami")

    assert response.status_code == 401
    assert response.json() == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Token abc123", "Digest x"])
def test_other_schemes_are_ignored(api_client, db, header):
    public = api_client.get("/public", HTTP_AUTHORIZATION=header)
    private = api_client.get("/whoami", HTTP_AUTHORIZATION=header)

    assert public.status_code == 200
    assert public.json() == {"authenticated": False}
    assert private.status_code == 401
    assert private.json()["code"] == "not_authenticated"
    assert private["WWW-Authenticate"] == 'Bearer realm="api"'
    assert Profile.objects.count() == 0


def test_refused_token_on_a_public_view_is_still_401(api_client, make_token, user):
    response = api_client.get("/public", **bearer(make_token(aud="service")))

    assert_refused(response, "token_invalid")
    assert not profile_exists(user.id)
