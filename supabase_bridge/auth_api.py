"""Sign-up, sign-in, refresh and sign-out through Supabase Auth, with its errors translated.

Each call uses a fresh client (supabase_bridge.clients). Passwords and tokens are never logged:
they appear only in the request to Supabase, and views hide them from error reports.
"""

import logging
from dataclasses import dataclass

import pydantic
from django.views.decorators.debug import sensitive_variables
from supabase_auth.errors import (
    AuthApiError,
    AuthError,
    AuthRetryableError,
    AuthWeakPasswordError,
)
from supabase_auth.types import AuthResponse

from api.errors import ServiceError
from supabase_bridge.clients import SupabaseNotConfigured, auth_client

logger = logging.getLogger(__name__)

# Supabase Auth error code → (our HTTP status, our code). SUPABASE.md §4 lists the codes.
# Wrong password and unknown email share one answer, so sign-in reveals no accounts.
ERROR_STATUS = {
    "invalid_credentials": (401, "invalid_credentials"),
    "email_not_confirmed": (403, "email_not_confirmed"),
    "phone_not_confirmed": (403, "phone_not_confirmed"),
    "user_banned": (403, "user_banned"),
    "signup_disabled": (403, "signup_disabled"),
    "email_provider_disabled": (403, "email_provider_disabled"),
    "user_already_exists": (422, "user_already_exists"),
    "email_exists": (422, "user_already_exists"),
    "weak_password": (422, "weak_password"),
    "email_address_invalid": (400, "email_address_invalid"),
    "validation_failed": (400, "validation_failed"),
    "refresh_token_not_found": (401, "invalid_refresh_token"),
    "refresh_token_already_used": (401, "invalid_refresh_token"),
    "session_expired": (401, "session_expired"),
    "session_not_found": (401, "session_expired"),
    # Supabase refused the caller's own access token (expired on its clock, user deleted).
    "bad_jwt": (401, "token_invalid"),
    "no_authorization": (401, "token_invalid"),
    "user_not_found": (401, "user_not_found"),
    "over_request_rate_limit": (429, "rate_limited"),
    "over_email_send_rate_limit": (429, "rate_limited"),
}
RETRY_AFTER_DEFAULT = 60


class AuthFailure(ServiceError):
    """Supabase Auth refused or could not serve the request."""


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
    except AuthFailure as exc:
        if exc.code != "session_expired":
            raise
        # Already signed out: the goal is reached (supabase-py's own sign_out agrees).


def _call(operation, access_token: str | None = None):
    try:
        client = auth_client(access_token)
    except SupabaseNotConfigured as exc:
        logger.error("Supabase Auth is not configured: %s", exc)
        raise AuthFailure(503, "auth_unavailable", "Authentication is unavailable.") from exc
    try:
        return operation(client)
    except AuthWeakPasswordError as exc:
        raise AuthFailure(
            422, "weak_password", exc.message, reasons=list(exc.reasons or [])
        ) from exc
    except AuthRetryableError as exc:
        logger.warning("Supabase Auth unreachable (status %s).", exc.status)
        raise AuthFailure(
            503, "auth_unavailable", "Authentication is unavailable; try again shortly."
        ) from exc
    except AuthApiError as exc:
        raise _translate(exc) from exc
    except (AuthError, pydantic.ValidationError, ValueError) as exc:
        # Unparseable answers (an HTML page from a proxy, a body supabase-py's models reject)
        # and client-side checks: Supabase did not give a usable answer.
        logger.warning("Supabase Auth failed: %s", type(exc).__name__)
        raise AuthFailure(
            503, "auth_unavailable", "Authentication is unavailable; try again shortly."
        ) from exc


def _translate(exc: AuthApiError) -> AuthFailure:
    status, code = ERROR_STATUS.get(exc.code or "", (None, None))
    if status is None:
        if exc.status >= 500 or exc.status == 0:
            logger.warning("Supabase Auth error %s (%s).", exc.status, exc.code)
            return AuthFailure(
                503, "auth_unavailable", "Authentication is unavailable; try again shortly."
            )
        if exc.status == 429:
            status, code = 429, "rate_limited"
        else:
            status, code = 400, exc.code or "auth_error"
    retry_after = _retry_after(exc) if status == 429 else None
    return AuthFailure(status, code, exc.message, retry_after=retry_after)


def _retry_after(exc: AuthApiError) -> int:
    """Return Supabase's Retry-After (seconds) when it sent one, else a minute."""
    response = getattr(exc.__cause__, "response", None)  # the httpx.HTTPStatusError's
    value = response.headers.get("Retry-After", "") if response is not None else ""
    return int(value) if value.isdigit() and 0 < int(value) <= 86400 else RETRY_AFTER_DEFAULT


def _tokens(response: AuthResponse) -> Tokens:
    session = response.session
    if session is None or response.user is None:
        raise AuthFailure(503, "auth_unavailable", "Supabase Auth returned no session.")
    return Tokens(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_in=session.expires_in,
        expires_at=session.expires_at,
        token_type=session.token_type,
        user_id=str(response.user.id),
    )
