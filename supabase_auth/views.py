"""Auth endpoints: thin views over supabase_auth.services.auth_api, throttled against guessing."""

from dataclasses import asdict

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from api import openapi
from api.throttling import AuthAddressThrottle, SignInAccountThrottle
from supabase_auth.serializers import (
    AuthErrorSerializer,
    CredentialsSerializer,
    RefreshSerializer,
    SignOutSerializer,
    SignUpResultSerializer,
    SignUpSerializer,
    TokensSerializer,
)
from supabase_auth.services import auth_api

UNAVAILABLE = OpenApiResponse(
    AuthErrorSerializer,
    description="Supabase Auth is down, slow or misconfigured (code auth_unavailable).",
    examples=[
        OpenApiExample(
            "auth_unavailable",
            value={
                "detail": "Authentication is unavailable; try again shortly.",
                "code": "auth_unavailable",
            },
        )
    ],
)
RATE_LIMITED = OpenApiResponse(
    AuthErrorSerializer, description="Too many attempts (ours or Supabase's); see Retry-After."
)


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
        request=SignUpSerializer,
        responses={
            201: SignUpResultSerializer,
            400: openapi.BAD_REQUEST,
            403: OpenApiResponse(AuthErrorSerializer, description="Sign-ups are disabled."),
            422: OpenApiResponse(
                AuthErrorSerializer,
                description="Weak password (with reasons), or the email is taken on a "
                "project without email confirmation.",
            ),
            429: RATE_LIMITED,
            503: UNAVAILABLE,
        },
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
        request=CredentialsSerializer,
        responses={
            200: TokensSerializer,
            400: openapi.BAD_REQUEST,
            401: OpenApiResponse(AuthErrorSerializer, description="Wrong email or password."),
            403: OpenApiResponse(AuthErrorSerializer, description="Email not confirmed, banned."),
            429: RATE_LIMITED,
            503: UNAVAILABLE,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.validated(CredentialsSerializer, request)
        return Response(asdict(auth_api.sign_in(data["email"], data["password"])))


class RefreshView(SupabaseAuthView):
    @extend_schema(
        summary="Exchange a refresh token for new tokens",
        request=RefreshSerializer,
        responses={
            200: TokensSerializer,
            400: openapi.BAD_REQUEST,
            401: OpenApiResponse(AuthErrorSerializer, description="Unknown or used refresh token."),
            429: RATE_LIMITED,
            503: UNAVAILABLE,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.validated(RefreshSerializer, request)
        return Response(asdict(auth_api.refresh(data["refresh_token"])))


class SignOutView(SupabaseAuthView):
    """Revoke the caller's session at Supabase, using the caller's own token."""

    authentication_classes = api_settings.DEFAULT_AUTHENTICATION_CLASSES  # the caller's token
    permission_classes = [IsAuthenticated]
    throttle_classes = []

    @extend_schema(
        summary="Sign out (revoke the session at Supabase)",
        request=SignOutSerializer,
        responses={
            204: None,
            400: openapi.BAD_REQUEST,
            401: openapi.UNAUTHENTICATED,
            503: UNAVAILABLE,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.validated(SignOutSerializer, request)
        auth_api.sign_out(request.auth, data["scope"])
        return Response(status=status.HTTP_204_NO_CONTENT)
