"""Sign-up, sign-in, refresh and sign-out through Supabase Auth, with its errors translated.

Each call uses a fresh client (supabase_auth.services.clients). Passwords and tokens are never
logged: they appear only in the request to Supabase, and views hide them from error reports.
"""

import logging
from dataclasses import dataclass

import pydantic
from django.views.decorators.debug import sensitive_variables

from api import errors
from supabase_auth.errors import (
    AuthApiError,
    AuthError,
    AuthRetryableError,
    AuthWeakPasswordError,
)
from supabase_auth.services.clients import SupabaseNotConfigured, auth_client
from supabase_auth.services.errors import AuthUnavailable
from supabase_auth.types import AuthResponse

logger = logging.getLogger(__name__)

# Supabase Auth error code → (kind of failure, our code). SUPABASE.md §4 lists the codes.
# Wrong password and unknown email share one answer, so sign-in reveals no accounts.
ERRORS = {
    "invalid_credentials": (errors.Refused, "invalid_credentials"),
    "email_not_confirmed": (errors.Forbidden, "email_not_confirmed"),
    "phone_not_confirmed": (errors.Forbidden, "phone_not_confirmed"),
    "user_banned": (errors.Forbidden, "user_banned"),
    "signup_disabled": (errors.Forbidden, "signup_disabled"),
    "email_provider_disabled": (errors.Forbidden, "email_provider_disabled"),
    "user_already_exists": (errors.Unprocessable, "user_already_exists"),
    "email_exists": (errors.Unprocessable, "user_already_exists"),
    "weak_password": (errors.Unprocessable, "weak_password"),
    "email_address_invalid": (errors.InvalidInput, "email_address_invalid"),
    "validation_failed": (errors.InvalidInput, "validation_failed"),
    "refresh_token_not_found": (errors.Refused, "invalid_refresh_token"),
    "refresh_token_already_used": (errors.Refused, "invalid_refresh_token"),
    "session_expired": (errors.Refused, "session_expired"),
    "session_not_found": (errors.Refused, "session_expired"),
    # Supabase refused the caller's own access token (expired on its clock, user deleted).
    "bad_jwt": (errors.Refused, "token_invalid"),
    "no_authorization": (errors.Refused, "token_invalid"),
    "user_not_found": (errors.Refused, "user_not_found"),
    "over_request_rate_limit": (errors.RateLimited, "rate_limited"),
    "over_email_send_rate_limit": (errors.RateLimited, "rate_limited"),
}
RETRY_AFTER_DEFAULT = 60


@dataclass(frozen=True)
class Tokens:
    """A signed-in session, as the API returns it."""

    access_token: str
    refresh_token: str
    expires_in: int
    expires_at: int | None
    token_type: str
    user_id: str


@sensitive_variables("password")
def sign_up(email: str, password: str, data: dict | None = None) -> Tokens | None:
    """Create the account; return its tokens, or None when Supabase asks to confirm the email."""
    response = _call(
        lambda client: client.sign_up(
            {"email": email, "password": password, "options": {"data": data or {}}}
        )
    )
    # With "Confirm email" on, Supabase answers a new and an already-registered address alike
    # (a user, no session): so do we, and nobody learns which addresses have accounts.
    return _tokens(response) if response.session else None


@sensitive_variables("password")
def sign_in(email: str, password: str) -> Tokens:
    """Exchange an email and password for a session."""
    return _tokens(
        _call(lambda client: client.sign_in_with_password({"email": email, "password": password}))
    )


@sensitive_variables("refresh_token")
def refresh(refresh_token: str) -> Tokens:
    """Exchange a refresh token (single use: Supabase rotates it) for a new session."""
    return _tokens(_call(lambda client: client.refresh_session(refresh_token)))


@sensitive_variables("access_token")
def sign_out(access_token: str, scope: str) -> None:
    """Revoke the session (`local`), all the user's sessions (`global`) or the others."""
    try:
        _call(lambda client: client.admin.sign_out(access_token, scope), access_token)
    except errors.Refused as exc:
        if exc.code != "session_expired":
            raise
        # Already signed out: the goal is reached (supabase-py's own sign_out agrees).


def _call(operation, access_token: str | None = None):
    try:
        client = auth_client(access_token)
    except SupabaseNotConfigured as exc:
        logger.error("Supabase Auth is not configured: %s", exc)
        raise AuthUnavailable("Authentication is unavailable.") from exc
    try:
        return operation(client)
    except AuthWeakPasswordError as exc:
        raise errors.Unprocessable(
            exc.message, code="weak_password", reasons=list(exc.reasons or [])
        ) from exc
    except AuthRetryableError as exc:
        logger.warning("Supabase Auth unreachable (status %s).", exc.status)
        raise AuthUnavailable() from exc
    except AuthApiError as exc:
        raise _translate(exc) from exc
    except (AuthError, pydantic.ValidationError, ValueError) as exc:
        # Unparseable answers (an HTML page from a proxy, a body supabase-py's models reject)
        # and client-side checks: Supabase did not give a usable answer.
        logger.warning("Supabase Auth failed: %s", type(exc).__name__)
        raise AuthUnavailable() from exc


def _translate(exc: AuthApiError) -> errors.ServiceError:
    kind, code = ERRORS.get(exc.code or "", (None, None))
    if kind is None:
        if exc.status >= 500 or exc.status == 0:
            logger.warning("Supabase Auth error %s (%s).", exc.status, exc.code)
            return AuthUnavailable()
        if exc.status == 429:
            kind, code = errors.RateLimited, "rate_limited"
        else:
            kind, code = errors.InvalidInput, exc.code or "auth_error"
    retry_after = _retry_after(exc) if kind is errors.RateLimited else None
    return kind(exc.message, code=code, retry_after=retry_after)


def _retry_after(exc: AuthApiError) -> int:
    """Return Supabase's Retry-After (seconds) when it sent one, else a minute."""
    response = getattr(exc.__cause__, "response", None)  # the httpx.HTTPStatusError's
    value = response.headers.get("Retry-After", "") if response is not None else ""
    return int(value) if value.isdigit() and 0 < int(value) <= 86400 else RETRY_AFTER_DEFAULT


def _tokens(response: AuthResponse) -> Tokens:
    session = response.session
    if session is None or response.user is None:
        raise AuthUnavailable("Supabase Auth returned no session.")
    return Tokens(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_in=session.expires_in,
        expires_at=session.expires_at,
        token_type=session.token_type,
        user_id=str(response.user.id),
    )
