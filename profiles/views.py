"""Profile endpoints: the caller's own profile, and anyone's public face and posts."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.permissions import AllowAny

from api import openapi
from api.pagination import KeysetPagination
from posts.models import Post
from posts.serializers import PostSerializer
from profiles.models import Profile
from profiles.serializers import MyProfileSerializer, PublicProfileSerializer


@extend_schema_view(
    get=extend_schema(
        summary="The caller's profile (created from the token on first use)",
        responses={200: MyProfileSerializer, 401: openapi.UNAUTHENTICATED},
    ),
    put=extend_schema(
        summary="Replace the caller's editable profile fields",
        responses={
            200: MyProfileSerializer,
            400: openapi.BAD_REQUEST,
            401: openapi.UNAUTHENTICATED,
        },
    ),
    patch=extend_schema(
        summary="Change the caller's name",
        examples=[OpenApiExample("rename", value={"name": "Ada Lovelace"}, request_only=True)],
        responses={
            200: MyProfileSerializer,
            400: openapi.BAD_REQUEST,
            401: openapi.UNAUTHENTICATED,
        },
    ),
)
class MyProfileView(generics.RetrieveUpdateAPIView):
    """The caller's profile; authentication already loaded it, so reading costs no query."""

    serializer_class = MyProfileSerializer

    def get_object(self) -> Profile:
        return self.request.user.profile


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
