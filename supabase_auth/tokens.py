"""Verify a Supabase access token and return its claims, frozen. Knows nothing of HTTP.

Rules (DESIGN.md, SUPABASE.md §1-2): HS256 only with the legacy secret; ES256/RS256 only with a
JWKS key chosen by `kid`, whose own algorithm is the only one accepted; `exp`, `iat`, `sub`,
`aud`, `iss` required and checked with a small leeway; `role` must be `authenticated`.
"""

import math
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import jwt
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from supabase_auth import keys

# Supabase tokens are well under 2 KB; anything far larger is refused before any parsing.
MAX_TOKEN_BYTES = 16 * 1024
# A JOSE header holds alg, typ and kid: a few dozen bytes.
MAX_HEADER_CHARS = 1024
REQUIRED_CLAIMS = ("exp", "iat", "sub", "aud", "iss")
# Supabase's API keys: legacy anon/service_role JWTs and the opaque sb_… keys (SUPABASE.md §3).
API_KEY_ROLES = frozenset({"anon", "service_role"})
API_KEY_PREFIXES = ("sb_publishable_", "sb_secret_")


class TokenError(Exception):
    """The token cannot authenticate anyone; `code` is stable, `message` safe to show."""

    code = "token_invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class KeysUnavailable(Exception):
    """The token names a key we cannot fetch now (JWKS down or slow): not the client's fault."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TokenExpired(TokenError):
    code = "token_expired"


class TokenNotUser(TokenError):
    """A valid credential that is not a signed-in user's (an API key, another role)."""

    code = "token_not_user"


@dataclass(frozen=True, slots=True)
class Claims:
    """The verified claims of a user access token."""

    sub: uuid.UUID
    email: str
    phone: str
    role: str
    aal: str
    amr: tuple
    is_anonymous: bool
    session_id: uuid.UUID | None
    app_metadata: Mapping
    user_metadata: Mapping
    issued_at: int | float
    expires_at: int | float
    raw: Mapping


def verify(token: str) -> Claims:
    """Return the claims of a valid user access token; raise TokenError otherwise.

    A client sends the same token with every request until it expires, so tokens verified
    recently are remembered (keyed by the whole token, signature included): a repeat costs a
    dictionary lookup plus the expiry and key checks, not a signature verification.
    """
    remembered = _recently_verified.get(token)
    if remembered is not None:
        return remembered
    claims, kid = _verify(token)
    _recently_verified.put(token, claims, kid)
    return claims


def _verify(token: str) -> tuple[Claims, str | None]:
    if len(token) > MAX_TOKEN_BYTES:
        raise TokenError("Token is too large.")
    if token.startswith(API_KEY_PREFIXES):
        raise TokenNotUser("Supabase API keys are not user tokens.")
    header = _unverified_header(token)
    key = _verification_key(header)
    try:
        payload = jwt.decode(
            token,
            key.key,
            algorithms=[key.algorithm],
            audience=settings.SUPABASE_JWT_AUDIENCE,
            issuer=settings.SUPABASE_JWT_ISSUER or None,
            leeway=settings.SUPABASE_JWT_LEEWAY,
            options={"require": list(REQUIRED_CLAIMS), "strict_aud": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired("Token has expired.") from exc
    except jwt.ImmatureSignatureError as exc:
        raise TokenError("Token is not valid yet.") from exc
    except (jwt.MissingRequiredClaimError, jwt.InvalidAudienceError, jwt.InvalidIssuerError) as exc:
        # The signature was valid (PyJWT checks it first): tell API keys apart from bad tokens.
        _refuse_api_keys(token)
        raise TokenError(f"Token is not for this API: {exc}.") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("Token signature or claims are invalid.") from exc
    return _claims(payload), header.get("kid") if key.algorithm != "HS256" else None


def _unverified_header(token: str) -> Mapping:
    """Return the JOSE header, only to choose the key; jwt.decode() then checks everything."""
    if len(token.split(".", 1)[0]) > MAX_HEADER_CHARS or token.count(".") != 2:
        raise TokenError("Token is malformed.")
    try:
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenError("Token is malformed.") from exc


def _verification_key(header: Mapping) -> keys.VerificationKey:
    algorithm = header.get("alg")
    kid = header.get("kid")
    if not isinstance(algorithm, str) or (kid is not None and not isinstance(kid, str)):
        raise TokenError("Token header is malformed.")
    if algorithm == "HS256":
        cache = keys.jwks()
        if kid is not None and cache is not None:
            cache.ensure_loaded()  # a no-op once the process has the keys (WSGI start)
        if kid is not None and cache is not None and cache.known(kid) is not None:
            # Algorithm confusion: an HMAC token naming a public key (RFC 8725 §2.1).
            raise TokenError("Token algorithm does not match its signing key.")
        secret = keys.hs256_secret()
        if secret is None:
            raise TokenError("HS256 tokens are not accepted by this API.")
        return keys.VerificationKey("HS256", secret)
    if algorithm not in keys.ASYMMETRIC_ALGORITHMS:
        raise TokenError("Token algorithm is not allowed.")
    cache = keys.jwks()
    if cache is None or kid is None:
        raise TokenError("Token signing key is unknown.")
    key = cache.get(kid)
    if key is None:
        if not cache.healthy:
            # The JWKS is down or slow: the token may well be valid, so do not call it bad.
            raise KeysUnavailable(
                "Token signing keys cannot be fetched right now.", cache.retry_after()
            )
        raise TokenError("Token signing key is unknown.")
    if key.algorithm != algorithm:
        raise TokenError("Token algorithm does not match its signing key.")
    return key


def _refuse_api_keys(token: str) -> None:
    payload = jwt.decode(token, options={"verify_signature": False})
    role = payload.get("role")
    if isinstance(role, str) and role in API_KEY_ROLES:
        raise TokenNotUser("Supabase API keys are not user tokens.")


def _claims(payload: Mapping) -> Claims:
    role = payload.get("role")
    if role != "authenticated":
        raise TokenNotUser("Token does not belong to a signed-in user.")
    sub = _uuid(_typed(payload, "sub", str))
    for name in ("exp", "iat", "nbf"):
        if name in payload:
            _numeric_date(payload[name], name)
    session_id = _typed(payload, "session_id", str, "")
    session = _uuid(session_id) if session_id else None
    amr = _typed(payload, "amr", list, [])
    return Claims(
        sub=sub,
        email=_typed(payload, "email", str, ""),
        phone=_typed(payload, "phone", str, ""),
        role=role,
        aal=_typed(payload, "aal", str, "aal1"),
        amr=tuple(MappingProxyType(m) if isinstance(m, dict) else m for m in amr),
        is_anonymous=_typed(payload, "is_anonymous", bool, False),
        session_id=session,
        app_metadata=MappingProxyType(_typed(payload, "app_metadata", dict, {})),
        user_metadata=MappingProxyType(_typed(payload, "user_metadata", dict, {})),
        issued_at=payload["iat"],
        expires_at=payload["exp"],
        raw=MappingProxyType(dict(payload)),
    )


def _numeric_date(value: object, name: str) -> None:
    """Refuse a time claim that is not a JSON number (RFC 7519 §2, NumericDate).

    PyJWT accepts anything int() takes, such as "1900000000"; a string kept as the expiry
    would fail later, when the remembered token's expiry is compared with the clock.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenError(f"Token claim {name} is not a number.")


def _uuid(value: str) -> uuid.UUID:
    """Parse a UUID in GoTrue's canonical form only (no braces, urn: prefix or bare hex)."""
    try:
        parsed = uuid.UUID(value)
    except ValueError as exc:
        raise TokenError("Token subject or session is not a UUID.") from exc
    if str(parsed) != value.lower():
        raise TokenError("Token subject or session is not a UUID.")
    return parsed


_MISSING = object()


def _typed(payload: Mapping, name: str, kind: type, default=_MISSING):
    value = payload.get(name, _MISSING)
    if value is _MISSING or (value is None and default is not _MISSING):
        if default is _MISSING:
            raise TokenError(f"Token has no {name} claim.")
        return default
    if not isinstance(value, kind):
        raise TokenError(f"Token claim {name} has the wrong type.")
    return value


class RecentlyVerified:
    """A bounded, thread-safe memory of verified tokens, forgotten at expiry or key removal."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[Claims, str | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> Claims | None:
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                self._entries.move_to_end(token)
        if entry is None:
            return None
        claims, kid = entry
        cache = keys.jwks() if kid is not None else None
        expired = time.time() > claims.expires_at + settings.SUPABASE_JWT_LEEWAY
        # get() also starts the background refresh of stale keys, as a full verification does.
        if expired or (kid is not None and (cache is None or cache.get(kid) is None)):
            self.forget(token)  # verify again: it will say why (expired, key revoked)
            return None
        return claims

    def put(self, token: str, claims: Claims, kid: str | None) -> None:
        with self._lock:
            self._entries[token] = (claims, kid)
            self._entries.move_to_end(token)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def forget(self, token: str | None = None) -> None:
        with self._lock:
            if token is None:
                self._entries.clear()
            else:
                self._entries.pop(token, None)


# 4,096 tokens of about 1 KB: a few MB per process, enough for the active users of a worker.
_recently_verified = RecentlyVerified(4096)


@receiver(setting_changed)
def _forget_verified_tokens(setting: str, **kwargs) -> None:
    if setting.startswith("SUPABASE_"):
        _recently_verified.forget()
