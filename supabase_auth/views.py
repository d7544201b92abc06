"""Auth endpoints: thin views over supabase_auth.services.auth_api, throttled against guessing."""

from dataclasses import asdict

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from api import openapi
from api.throttling import AuthAddressThrottle, SignInAccountThrottle
from supabase_auth.serializers import (
    CredentialsSerializer,
    RefreshSerializer,
    SignOutSerializer,
    SignUpResultSerializer,
    SignUpSerializer,
    TokensSerializer,
)
from supabase_auth.services import auth_api

AUTH_UNAVAILABLE = openapi.error(
    "Supabase Auth is down, slow or not configured; retry after Retry-After seconds.",
    openapi.AUTH_DOWN,
)
RATE_LIMITED = openapi.error(
    "Too many attempts (this API's limit or Supabase's); retry after Retry-After seconds.",
    ("throttled", "Request was throttled. Expected available in 42 seconds."),
    ("rate_limited", "Request rate limit reached"),
)


def supabase_auth_responses(responses: dict) -> dict:
    """Return an endpoint's own responses plus those any call to Supabase Auth can end in."""
    return {
        **openapi.JSON_BODY,
        406: openapi.NOT_ACCEPTABLE,
        429: RATE_LIMITED,
        503: AUTH_UNAVAILABLE,
        **responses,
    }


@method_decorator(sensitive_post_parameters(), name="dispatch")
class SupabaseAuthView(APIView):
    """Base: public, throttled per client address (Supabase failures are ServiceErrors)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthAddressThrottle]

    def validated(self, serializer_class, request: Request) -> dict:
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class SignUpView(SupabaseAuthView):
    @extend_schema(
        summary="Create an account (email and password)",
        description="Creates the account at Supabase Auth. When the project confirms emails, "
        "the answer carries no tokens and `email_confirmation_required` is true (an address "
        "that already has an account gets the same answer, so none is revealed).",
        request=SignUpSerializer,
        parameters=openapi.RESPONSE_HEADERS,
        responses=supabase_auth_responses(
            {
                201: SignUpResultSerializer,
                403: openapi.error(
                    "Sign-ups are disabled.",
                    ("signup_disabled", "Signups not allowed for this instance"),
                ),
                422: openapi.error(
                    "Weak password (with `reasons`), or the email is taken on a project that "
                    "does not confirm emails.",
                    ("weak_password", "Password should be at least 6 characters."),
                    ("user_already_exists", "User already registered"),
                ),
            }
        ),
    )
    def post(self, request: Request) -> Response:
        data = self.validated(SignUpSerializer, request)
        metadata = {"full_name": data["name"]} if data.get("name") else {}
        tokens = auth_api.sign_up(data["email"], data["password"], metadata)
        if tokens is None:
            body = dict.fromkeys(TokensSerializer().fields, None)
            body.update(
                email_confirmation_required=True,
                detail="Check your email to confirm your account, then sign in.",
            )
        else:
            body = asdict(tokens) | {
                "email_confirmation_required": False,
                "detail": "Account created.",
            }
        return Response(body, status=status.HTTP_201_CREATED)


class SignInView(SupabaseAuthView):
    """Sign in; limited per account too, so guesses spread over many addresses still count."""

    throttle_classes = [AuthAddressThrottle, SignInAccountThrottle]

    @extend_schema(
        summary="Sign in with email and password",
        description="Returns a Supabase session: send `access_token` as "
        "`Authorization: Bearer <token>`, and trade `refresh_token` for new tokens before "
        "`expires_at`.",
        request=CredentialsSerializer,
        parameters=openapi.RESPONSE_HEADERS,
        responses=supabase_auth_responses(
            {
                200: TokensSerializer,
                401: openapi.error(
                    "Wrong email or password (one answer for both).",
                    ("invalid_credentials", "Invalid login credentials"),
                ),
                403: openapi.error(
                    "Email not confirmed yet, or the user is banned.",
                    ("email_not_confirmed", "Email not confirmed"),
                ),
            }
        ),
    )
    def post(self, request: Request) -> Response:
        data = self.validated(CredentialsSerializer, request)
        return Response(asdict(auth_api.sign_in(data["email"], data["password"])))


class RefreshView(SupabaseAuthView):
    @extend_schema(
        summary="Exchange a refresh token for new tokens",
        description="Each refresh token works once: keep the new one from the answer.",
        request=RefreshSerializer,
        parameters=openapi.RESPONSE_HEADERS,
        responses=supabase_auth_responses(
            {
                200: TokensSerializer,
                401: openapi.error(
                    "Unknown, used or expired refresh token: sign in again.",
                    ("invalid_refresh_token", "Invalid Refresh Token: Refresh Token Not Found"),
                ),
                403: openapi.error("The user is banned.", ("user_banned", "User is banned")),
            }
        ),
    )
    def post(self, request: Request) -> Response:
        data = self.validated(RefreshSerializer, request)
        return Response(asdict(auth_api.refresh(data["refresh_token"])))


class SignOutView(SupabaseAuthView):
    """Revoke the caller's session at Supabase, using the caller's own token."""

    authentication_classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES  # the caller's token
    accepts_ended_sessions = True  # signing out again is not an error (auth_api.sign_out)
    permission_classes = [IsAuthenticated]
    throttle_classes = []

    @extend_schema(
        summary="Sign out (revoke the session at Supabase)",
        description="Revokes this session (`local`, the default), every session of the user "
        "(`global`) or all but this one (`others`). Access tokens already issued stay valid "
        "until they expire unless the API checks sessions (SUPABASE_AUTH_CHECK_SESSION).",
        request=SignOutSerializer,
        parameters=openapi.RESPONSE_HEADERS,
        responses=supabase_auth_responses(
            {
                204: None,
                401: openapi.UNAUTHENTICATED,
                503: openapi.error(
                    "Supabase Auth, the database or the signing keys cannot be reached; retry "
                    "after Retry-After seconds.",
                    openapi.AUTH_DOWN,
                    openapi.DATABASE_DOWN,
                ),
            }
        ),
    )
    def post(self, request: Request) -> Response:
        data = self.validated(SignOutSerializer, request)
        auth_api.sign_out(request.auth, data["scope"])
        return Response(status=status.HTTP_204_NO_CONTENT)
