"""Fixtures for the authentication tests: a real JWKS server, test keys, a token factory."""

import jwt
import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from supabase_auth import dev_tokens
from tests.factories import make_auth_user
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
    yield _jwks_server
    _jwks_server.reset()


@pytest.fixture
def user(db):
    """A Supabase Auth user (auth.users row) who has never called the API."""
    return make_auth_user("user@example.com")


@pytest.fixture
def make_token(user):
    """Return make_token(alg="HS256", key=None, kid=None, headers=None, sub=..., **claims).

    Claims default to a valid user token for `user`; pass a claim as None to drop it.
    `key` is a SigningKey (asymmetric), or a str/bytes secret for HMAC algorithms.
    """

    def make(alg="HS256", key=None, kid=None, headers=None, **claims):
        payload = dev_tokens.user_claims(claims.pop("sub", user.id), user.email)
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


@pytest.fixture
def api_client():
    return APIClient()
