"""Fixtures for the authentication tests: a real JWKS server, test keys, a token factory."""

import uuid

import jwt
import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from supabase_auth import dev_tokens
from tests.factories import make_auth_user, make_session
from tests.support.jwks_server import JWKSServer, SigningKey


@pytest.fixture(scope="session")
def ec_key() -> SigningKey:
    return SigningKey("ES256", "ec-key-1")


@pytest.fixture(scope="session")
def rsa_key() -> SigningKey:
    return SigningKey("RS256", "rsa-key-1")


@pytest.fixture(scope="session")
def _jwks_server():
    server = JWKSServer()
    yield server
    server.close()


@pytest.fixture
def jwks_server(_jwks_server, ec_key, rsa_key, settings):
    """The JWKS server, publishing the EC and RSA test keys, wired into the settings."""
    _jwks_server.reset()
    _jwks_server.publish(ec_key, rsa_key)
    settings.SUPABASE_JWKS_URL = _jwks_server.url
    settings.SUPABASE_JWKS_REFETCH_COOLDOWN = 10
    settings.SUPABASE_JWKS_TIMEOUT = 0.5
    # Long enough for the local server to answer on a loaded machine, so that the tests of
    # refetch logic do not depend on timing; tests of slow keys make the server slower.
    settings.SUPABASE_JWKS_WAIT = 0.4
    yield _jwks_server
    _jwks_server.reset()


@pytest.fixture
def user(db):
    """A Supabase Auth user (auth.users row) who has never called the API."""
    return make_auth_user("user@example.com")


@pytest.fixture
def make_token(user):
    """Return make_token(alg="HS256", key=None, kid=None, headers=None, sub=..., **claims).

    Claims default to a valid user token for `user`, naming a live session of its subject
    (an `auth.sessions` row); pass a claim as None to drop it.
    `key` is a SigningKey (asymmetric), or a str/bytes secret for HMAC algorithms.
    """

    def make(alg="HS256", key=None, kid=None, headers=None, **claims):
        sub = claims.pop("sub", user.id)
        if "session_id" not in claims:
            claims["session_id"] = _live_session(sub)
        payload = dev_tokens.user_claims(sub, user.email)
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        header = dict(headers or {})
        if kid is not None:
            header["kid"] = kid
        if alg.startswith("HS") or alg == "none":
            secret = key if key is not None else django_settings.SUPABASE_JWT_SECRET
            secret = secret.encode() if isinstance(secret, str) else secret
            return jwt.encode(
                payload, secret if alg != "none" else None, algorithm=alg, headers=header
            )
        header.setdefault("kid", key.kid)
        return jwt.encode(payload, key.private_key, algorithm=alg, headers=header)

    return make


def _live_session(sub) -> str:
    """Return a new session of sub's user; a random id when sub is no user (or no UUID)."""
    try:
        session_id = make_session(uuid.UUID(str(sub)))
    except ValueError:
        session_id = None
    return str(session_id or uuid.uuid4())


@pytest.fixture
def api_client():
    return APIClient()
