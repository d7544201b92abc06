"""Access tokens shaped like Supabase Auth's, for local development and tests only."""

import time
import uuid

import jwt
from django.conf import settings


def user_claims(
    sub: uuid.UUID, email: str, *, session_id: uuid.UUID | None = None, ttl: int = 3600, **extra
) -> dict:
    """Return the claims GoTrue puts in a user's access token (SUPABASE.md §1), plus extra."""
    now = int(time.time())
    claims = {
        "iss": settings.SUPABASE_JWT_ISSUER,
        "aud": settings.SUPABASE_JWT_AUDIENCE[0],
        "sub": str(sub),
        "exp": now + ttl,
        "iat": now,
        "email": email,
        "phone": "",
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": str(session_id or uuid.uuid4()),
        "is_anonymous": False,
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {},
    }
    return claims | extra


def sign_hs256(claims: dict, secret: str | None = None) -> str:
    """Sign claims with the legacy JWT secret, as Supabase Auth does for HS256 projects."""
    secret = secret or settings.SUPABASE_JWT_SECRET
    if not secret:
        raise ValueError("SUPABASE_JWT_SECRET is not set.")
    return jwt.encode(claims, secret.encode(), algorithm="HS256", headers={"typ": "JWT"})
