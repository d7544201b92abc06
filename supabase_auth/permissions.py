"""DRF permissions on Supabase claims; DRF's IsAuthenticated works unchanged beside them."""

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


def _supabase_user(request: Request):
    user = request.user
    return user if getattr(user, "claims", None) is not None else None


class IsNotAnonymousSignIn(BasePermission):
    """Refuse users made by Supabase's anonymous sign-in (`is_anonymous` claim)."""

    message = "Sign in with a permanent account to do this."
    code = "anonymous_sign_in"

    def has_permission(self, request: Request, view) -> bool:
        user = _supabase_user(request)
        return user is not None and not user.is_anonymous


class AnonymousSignInsReadOnly(IsNotAnonymousSignIn):
    """Let anonymous sign-ins read; let them write only with API_ANONYMOUS_SIGN_IN_WRITES.

    Anyone can create an anonymous user without an e-mail address, and its tokens carry the
    `authenticated` role (SUPABASE.md §1): writes by such users invite abuse (Supabase docs,
    "Anonymous Sign-Ins": add CAPTCHA, restrict with the `is_anonymous` claim). Requests of
    anyone else are left to the other permissions.
    """

    def has_permission(self, request: Request, view) -> bool:
        if request.method in SAFE_METHODS or settings.API_ANONYMOUS_SIGN_IN_WRITES:
            return True
        user = _supabase_user(request)
        return user is None or not user.is_anonymous


class RequiresMFA(BasePermission):
    """Require a session verified with a second factor (`aal` = `aal2`)."""

    message = "This requires multi-factor authentication (aal2)."
    code = "mfa_required"

    def has_permission(self, request: Request, view) -> bool:
        user = _supabase_user(request)
        return user is not None and user.aal == "aal2"


def HasAppRole(*roles: str) -> type[BasePermission]:
    """Return a permission requiring one of roles in `app_metadata.role` or `.roles`.

    Only `app_metadata` is trusted: users can edit their own `user_metadata` (SUPABASE.md §1).
    """

    class _HasAppRole(BasePermission):
        message = f"This requires the role {' or '.join(roles)}."
        code = "role_required"

        def has_permission(self, request: Request, view) -> bool:
            user = _supabase_user(request)
            if user is None:
                return False
            metadata = user.app_metadata
            granted = metadata.get("roles")
            granted = (
                {r for r in granted if isinstance(r, str)} if isinstance(granted, list) else set()
            )
            if isinstance(metadata.get("role"), str):
                granted.add(metadata["role"])
            return not granted.isdisjoint(roles)

    _HasAppRole.__name__ = f"HasAppRole({', '.join(roles)})"
    return _HasAppRole
