"""Views used only by the authentication tests: they echo the principal DRF authenticated."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from supabase_auth.permissions import HasAppRole, IsNotAnonymousSignIn, RequiresMFA


def describe(request) -> dict:
    user = request.user
    if not user.is_authenticated:
        return {"authenticated": False}
    return {
        "authenticated": True,
        "id": str(user.id),
        "email": user.email,
        "role": user.role,
        "aal": user.aal,
        "is_anonymous": user.is_anonymous,
        "session_id": str(user.session_id) if user.session_id else None,
        "app_metadata": dict(user.app_metadata),
        "user_metadata": dict(user.user_metadata),
        "profile": {
            "id": str(user.profile.id),
            "email": user.profile.email,
            "name": user.profile.name,
            "avatar_url": user.profile.avatar_url,
        },
        "auth_is_token": isinstance(request.auth, str),
    }


def echo(*permissions):
    @api_view(["GET"])
    @permission_classes(permissions)
    def view(request):
        return Response(describe(request))

    return view


urlpatterns = [
    path("whoami", echo(IsAuthenticated)),
    path("public", echo(AllowAny)),
    path("permanent-only", echo(IsAuthenticated, IsNotAnonymousSignIn)),
    path("mfa-only", echo(IsAuthenticated, RequiresMFA)),
    path("moderators-only", echo(IsAuthenticated, HasAppRole("moderator", "admin"))),
]
