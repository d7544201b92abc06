"""Profile endpoints: the caller's own profile, and anyone's public face and posts."""

import hashlib

from django.conf import settings
from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api import openapi
from api.conditional import check_if_match, etag_for, with_etag
from api.pagination import KeysetPagination
from api.replicas import public_read
from api.throttling import AvatarThrottle
from posts.models import Post
from posts.serializers import PostSerializer
from profiles import avatar
from profiles.models import Profile
from profiles.serializers import (
    AvatarUploadSerializer,
    MyProfileSerializer,
    PublicProfileSerializer,
)
from supabase_auth import request_role
from supabase_auth.permissions import AnonymousSignInsReadOnly
from supabase_auth.services import storage

MY_PROFILE_WRITE_RESPONSES = {
    200: MyProfileSerializer,
    **openapi.JSON_BODY,
    **openapi.GUARDED,
    403: openapi.ANONYMOUS_SIGN_IN,
    412: openapi.PRECONDITION_FAILED,
}
READ_PARAMETERS = [openapi.IF_NONE_MATCH, openapi.ETAG, *openapi.RESPONSE_HEADERS]
WRITE_PARAMETERS = [openapi.IF_MATCH, openapi.ETAG, *openapi.RESPONSE_HEADERS]
STORAGE_UNAVAILABLE = openapi.error(
    "Supabase Storage (or the database, or the signing keys) cannot be reached, or the "
    "avatars bucket does not exist; retry after Retry-After seconds.",
    openapi.STORAGE_DOWN,
    ("storage_misconfigured", "Avatar storage is not set up."),
    openapi.DATABASE_DOWN,
)
STORAGE_FORBIDDEN = openapi.error(
    "Storage's policies refused the change; or the caller is an anonymous sign-in.",
    ("storage_forbidden", "Storage refused the upload (its policies do not allow it)."),
    openapi.ANONYMOUS_SIGN_IN_REFUSED,
)


@extend_schema_view(
    get=extend_schema(
        summary="The caller's profile (created from the token on first use)",
        description="Includes the email, which only its owner sees.",
        parameters=READ_PARAMETERS,
        responses={200: MyProfileSerializer, 304: openapi.NOT_MODIFIED, **openapi.GUARDED},
    ),
    put=extend_schema(
        summary="Replace the caller's editable profile fields",
        description="Only `name` is editable; a missing `name` clears it. With If-Match, a "
        "profile changed since you read it is a 412 and stays as it is.",
        parameters=WRITE_PARAMETERS,
        responses=MY_PROFILE_WRITE_RESPONSES,
    ),
    patch=extend_schema(
        summary="Change the caller's name",
        description="With If-Match, a profile changed since you read it is a 412 and stays "
        "as it is.",
        parameters=WRITE_PARAMETERS,
        examples=[OpenApiExample("rename", value={"name": "Ada Lovelace"}, request_only=True)],
        responses=MY_PROFILE_WRITE_RESPONSES,
    ),
)
class MyProfileView(generics.RetrieveUpdateAPIView):
    """The caller's profile; authentication already loaded it, so reading costs no query."""

    serializer_class = MyProfileSerializer
    permission_classes = [IsAuthenticated, AnonymousSignInsReadOnly]
    locked: Profile | None = None  # set by update()

    def get_object(self) -> Profile:
        # Not where the row is locked: DRF's OPTIONS metadata calls get_object() for PUT too,
        # outside any transaction, where select_for_update() raises.
        return self.locked or self.request.user.profile

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return with_etag(super().retrieve(request, *args, **kwargs))

    @transaction.atomic
    def update(self, request: Request, *args, **kwargs) -> Response:
        # Lock the row from the If-Match check to the commit: two writers holding the same
        # ETag cannot both pass.
        # Its public columns only: the email is the token's, which authentication just stored
        # (no API role may read it: DATABASE_RLS=enforce).
        self.locked = (
            Profile.objects.select_for_update()
            .only(*PublicProfileSerializer.Meta.fields)
            .get(pk=request.user.id)
        )
        self.locked.email = request.user.profile.email
        check_if_match(request, etag_for(self.get_serializer(self.locked).data))
        return with_etag(super().update(request, *args, **kwargs))


@extend_schema_view(
    get=extend_schema(
        summary="A profile's public fields (no email)",
        description="Anyone may read; a refused token is a 401, so send none to read anonymously.",
        parameters=READ_PARAMETERS,
        responses={
            200: PublicProfileSerializer,
            304: openapi.NOT_MODIFIED,
            404: openapi.NOT_FOUND,
            **openapi.GUARDED,
        },
    )
)
class PublicProfileView(generics.RetrieveAPIView):
    """Anyone's public profile."""

    permission_classes = [AllowAny]
    serializer_class = PublicProfileSerializer
    queryset = Profile.objects.only(*PublicProfileSerializer.Meta.fields)  # never the email

    @public_read
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


@extend_schema_view(
    get=extend_schema(
        summary="A profile's published posts, newest first",
        description="Anyone may read; paginated like the public list of posts.",
        parameters=READ_PARAMETERS,
        responses={
            200: PostSerializer(many=True),
            304: openapi.NOT_MODIFIED,
            400: openapi.BAD_REQUEST,
            404: openapi.NOT_FOUND,
            **openapi.GUARDED,
        },
    )
)
class ProfilePostsView(generics.ListAPIView):
    """A profile's published posts."""

    permission_classes = [AllowAny]
    serializer_class = PostSerializer
    pagination_class = KeysetPagination

    @public_read
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        profile = get_object_or_404(Profile.objects.only("id"), pk=self.kwargs["pk"])
        return Post.objects.filter(author_id=profile.id, published=True)


class MyAvatarView(APIView):
    """Upload or remove the caller's avatar in Supabase Storage, acting with the caller's token.

    Each upload decodes an image (up to ~58 MiB and a third of a CPU second, docs/testing.md),
    so calls are limited per user (API_THROTTLE_AVATAR), counted in the shared cache.
    """

    parser_classes = [MultiPartParser]
    permission_classes = [IsAuthenticated, AnonymousSignInsReadOnly]
    throttle_classes = [AvatarThrottle]

    @staticmethod
    def max_body_bytes() -> int:
        return settings.SUPABASE_AVATAR_MAX_BYTES + 64 * 1024  # room for the multipart framing

    @extend_schema(
        summary="Upload an avatar (PNG, JPEG, WebP or GIF; metadata stripped)",
        description="A multipart `file`. The type is read from the bytes, not the name; the "
        "image is re-encoded without its metadata and stored in Supabase Storage with the "
        "caller's token, so Storage's own policies decide. `avatar_url` changes with each "
        "upload.",
        request={"multipart/form-data": AvatarUploadSerializer},
        parameters=openapi.RESPONSE_HEADERS,
        responses={
            200: MyProfileSerializer,
            400: openapi.BAD_REQUEST,
            **openapi.GUARDED,
            403: STORAGE_FORBIDDEN,
            413: openapi.error(
                "File, image or body too large.",
                ("file_too_large", "The avatar is larger than 2097152 bytes."),
                ("image_too_large", "The image has too many pixels."),
            ),
            415: openapi.error(
                "Not a PNG, JPEG, WebP or GIF, or not a multipart body.",
                ("unsupported_image_type", "Upload a PNG, JPEG, WebP or GIF image."),
            ),
            503: STORAGE_UNAVAILABLE,
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
        with request_role.as_owner():  # a server-owned column (DATABASE_RLS=enforce)
            profile.save(update_fields=["avatar_url", "updated_at"])
        return Response(MyProfileSerializer(profile).data)

    @extend_schema(
        summary="Remove the avatar",
        description="Deletes the stored files and clears `avatar_url`.",
        parameters=openapi.RESPONSE_HEADERS,
        responses={
            204: None,
            **openapi.GUARDED,
            403: STORAGE_FORBIDDEN,
            503: STORAGE_UNAVAILABLE,
        },
    )
    def delete(self, request: Request) -> Response:
        profile = request.user.profile
        storage.remove_avatar(request.auth, str(profile.id))
        profile.avatar_url = None
        with request_role.as_owner():  # a server-owned column (DATABASE_RLS=enforce)
            profile.save(update_fields=["avatar_url", "updated_at"])
        return Response(status=status.HTTP_204_NO_CONTENT)
