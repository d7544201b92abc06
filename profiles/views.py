"""Profile endpoints: the caller's own profile, and anyone's public face and posts."""

import hashlib

from django.conf import settings
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from api import openapi
from api.conditional import ETAG, IF_MATCH, check_if_match, etag_for, with_etag
from api.pagination import KeysetPagination
from posts.models import Post
from posts.serializers import PostSerializer
from profiles import avatar
from profiles.models import Profile
from profiles.serializers import (
    AvatarUploadSerializer,
    MyProfileSerializer,
    PublicProfileSerializer,
)
from supabase_auth.services import storage


@extend_schema_view(
    get=extend_schema(
        summary="The caller's profile (created from the token on first use)",
        parameters=[ETAG],
        responses={200: MyProfileSerializer, 401: openapi.UNAUTHENTICATED},
    ),
    put=extend_schema(
        summary="Replace the caller's editable profile fields",
        parameters=[IF_MATCH, ETAG],
        responses={
            200: MyProfileSerializer,
            400: openapi.BAD_REQUEST,
            401: openapi.UNAUTHENTICATED,
            412: openapi.PRECONDITION_FAILED,
        },
    ),
    patch=extend_schema(
        summary="Change the caller's name",
        parameters=[IF_MATCH, ETAG],
        examples=[OpenApiExample("rename", value={"name": "Ada Lovelace"}, request_only=True)],
        responses={
            200: MyProfileSerializer,
            400: openapi.BAD_REQUEST,
            401: openapi.UNAUTHENTICATED,
            412: openapi.PRECONDITION_FAILED,
        },
    ),
)
class MyProfileView(generics.RetrieveUpdateAPIView):
    """The caller's profile; authentication already loaded it, so reading costs no query."""

    serializer_class = MyProfileSerializer

    def get_object(self) -> Profile:
        if self.request.method in ("PUT", "PATCH"):
            # Lock the row from the If-Match check to the commit (update() is atomic).
            profile = Profile.objects.select_for_update().get(pk=self.request.user.id)
            check_if_match(self.request, etag_for(self.get_serializer(profile).data))
            return profile
        return self.request.user.profile

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return with_etag(super().retrieve(request, *args, **kwargs))

    @transaction.atomic
    def update(self, request: Request, *args, **kwargs) -> Response:
        return with_etag(super().update(request, *args, **kwargs))


@extend_schema_view(
    get=extend_schema(
        summary="A profile's public fields (no email)",
        responses={200: PublicProfileSerializer, 404: openapi.NOT_FOUND},
    )
)
class PublicProfileView(generics.RetrieveAPIView):
    """Anyone's public profile."""

    permission_classes = [AllowAny]
    serializer_class = PublicProfileSerializer
    queryset = Profile.objects.all()


@extend_schema_view(
    get=extend_schema(
        summary="A profile's published posts, newest first",
        responses={
            200: PostSerializer(many=True),
            400: openapi.BAD_REQUEST,
            404: openapi.NOT_FOUND,
        },
    )
)
class ProfilePostsView(generics.ListAPIView):
    """A profile's published posts."""

    permission_classes = [AllowAny]
    serializer_class = PostSerializer
    pagination_class = KeysetPagination

    def get_queryset(self):
        profile = get_object_or_404(Profile.objects.only("id"), pk=self.kwargs["pk"])
        return Post.objects.filter(author_id=profile.id, published=True)


class MyAvatarView(APIView):
    """Upload or remove the caller's avatar in Supabase Storage, acting with the caller's token.

    Each upload decodes an image (up to ~58 MiB and a third of a CPU second, docs/testing.md),
    so calls are limited per user in their own throttle scope (API_THROTTLE_AVATAR).
    """

    parser_classes = [MultiPartParser]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "avatar"

    @staticmethod
    def max_body_bytes() -> int:
        return settings.SUPABASE_AVATAR_MAX_BYTES + 64 * 1024  # room for the multipart framing

    @extend_schema(
        summary="Upload an avatar (PNG, JPEG, WebP or GIF; metadata stripped)",
        request={"multipart/form-data": AvatarUploadSerializer},
        responses={
            200: MyProfileSerializer,
            400: openapi.BAD_REQUEST,
            401: openapi.UNAUTHENTICATED,
            403: openapi.error(
                "Storage's policies refused the upload.",
                "storage_forbidden",
                "Storage refused the upload (its policies do not allow it).",
            ),
            413: openapi.error(
                "File or image too large.",
                "file_too_large",
                "The avatar is larger than 2097152 bytes.",
            ),
            415: openapi.error(
                "Not a PNG, JPEG, WebP or GIF.",
                "unsupported_image_type",
                "Upload a PNG, JPEG, WebP or GIF image.",
            ),
            429: openapi.THROTTLED,
            503: openapi.error(
                "Storage is down or not set up.",
                "storage_unavailable",
                "Avatar storage is unavailable; try again shortly.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = AvatarUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        limit = settings.SUPABASE_AVATAR_MAX_BYTES
        if upload.size > limit:
            raise avatar.ImageTooLarge(
                f"The avatar is larger than {limit} bytes.", code="file_too_large"
            )
        image = avatar.clean(upload.read())
        profile = request.user.profile
        url = storage.upload_avatar(
            request.auth, str(profile.id), image.data, image.extension, image.content_type
        )
        version = hashlib.sha256(image.data).hexdigest()[:12]  # new bytes, new URL: no stale cache
        profile.avatar_url = f"{url}?v={version}"
        profile.save(update_fields=["avatar_url", "updated_at"])
        return Response(MyProfileSerializer(profile).data)

    @extend_schema(
        summary="Remove the avatar",
        responses={
            204: None,
            401: openapi.UNAUTHENTICATED,
            429: openapi.THROTTLED,
            503: openapi.error(
                "Storage is down or not set up.",
                "storage_unavailable",
                "Avatar storage is unavailable; try again shortly.",
            ),
        },
    )
    def delete(self, request: Request) -> Response:
        profile = request.user.profile
        storage.remove_avatar(request.auth, str(profile.id))
        profile.avatar_url = None
        profile.save(update_fields=["avatar_url", "updated_at"])
        return Response(status=status.HTTP_204_NO_CONTENT)
