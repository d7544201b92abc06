"""DRF authentication with Supabase access tokens: the only part of this package that knows HTTP."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from supabase_auth import request_role, tokens, users
from supabase_auth.services.errors import AuthUnavailable

REALM = "api"


class InvalidToken(exceptions.AuthenticationFailed):
    """A 401 whose body carries a stable code: {"detail": ..., "code": ...}."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(detail=message, code=code)


class SupabaseAuthentication(BaseAuthentication):
    """Authenticate `Authorization: Bearer <Supabase access token>`, verified locally.

    No header, or another scheme, leaves the request anonymous (public endpoints still work);
    a Bearer token that fails is a 401 with `WWW-Authenticate: Bearer ... error="invalid_token"`
    (RFC 6750 §3.1). `request.auth` is the raw token, for calls to Supabase on the user's behalf.
    A view whose `accepts_ended_sessions` is true (sign-out) takes tokens of ended sessions too,
    whatever SUPABASE_AUTH_CHECK_SESSION says.
    """

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[users.SupabaseUser, str] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        try:
            if len(parts) != 2:
                raise tokens.TokenError("Authorization header must be 'Bearer <token>'.")
            token = _ascii(parts[1])
            claims = tokens.verify(token)
            with request_role.as_owner():  # the server's bookkeeping (DATABASE_RLS=enforce)
                user = users.user_for(claims, check_session=_check_session(request))
        except tokens.TokenError as exc:
            raise self._failed(request, exc.message, exc.code) from exc
        except users.SessionRevoked as exc:
            raise self._failed(request, str(exc), "token_revoked") from exc
        except users.UnknownUser as exc:
            raise self._failed(request, str(exc), "user_not_found") from exc
        except tokens.KeysUnavailable as exc:
            raise AuthUnavailable(str(exc), retry_after=exc.retry_after) from exc
        request_role.assume(claims)  # the view's statements run as this user from here
        return user, token

    def authenticate_header(self, request: Request) -> str:
        """Return the challenge; it names the error only when a token was sent and refused."""
        error = getattr(request, "_supabase_auth_error", None)
        if error is None:
            return f'Bearer realm="{REALM}"'
        return f'Bearer realm="{REALM}", error="invalid_token", error_description="{error}"'

    @staticmethod
    def _failed(request: Request, message: str, code: str) -> InvalidToken:
        request._supabase_auth_error = message.replace('"', "'")
        return InvalidToken(message, code)


def _check_session(request: Request) -> bool | None:
    """Return False for a view that accepts ended sessions; None leaves it to the setting."""
    view = (request.parser_context or {}).get("view")
    return False if getattr(view, "accepts_ended_sessions", False) else None


def _ascii(raw: bytes) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise tokens.TokenError("Token is malformed.") from exc
