"""The project's URLs plus views that forget the API's rules, to see what the database allows."""

from django.db import connection
from django.http import JsonResponse
from django.urls import path
from rest_framework import generics
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from config.urls import urlpatterns as project_urlpatterns
from posts.models import Post
from posts.serializers import PostSerializer
from profiles.models import Profile

IDENTITY_SQL = """
select current_user, auth.uid(), auth.role(),
       current_setting('request.jwt.claims', true),
       current_setting('request.method', true), current_setting('request.path', true)
"""
IDENTITY_FIELDS = ("user", "uid", "role", "claims", "method", "path")


class UnscopedPosts(generics.ListAPIView):
    """Every post, drafts included: a queryset that forgot to filter (never in the product)."""

    permission_classes = [AllowAny]
    serializer_class = PostSerializer
    queryset = Post.objects.all()
    pagination_class = None


@api_view(["GET"])
@permission_classes([AllowAny])
def unscoped_emails(request):
    """Every profile's email: a read no API role may make."""
    return Response(sorted(Profile.objects.values_list("email", flat=True)))


def identity() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(IDENTITY_SQL)
        values = [None if value is None else str(value) for value in cursor.fetchone()]
    return dict(zip(IDENTITY_FIELDS, values, strict=True))


@api_view(["GET", "POST"])
@permission_classes([AllowAny])
def api_identity(request):
    """Whom the database sees an API request as."""
    return Response(identity())


def plain_identity(request):
    """Whom the database sees a request outside /api/ as (the admin's, health checks')."""
    return JsonResponse(identity())


urlpatterns = [
    path("api/unscoped-posts", UnscopedPosts.as_view()),
    path("api/unscoped-emails", unscoped_emails),
    path("api/database-identity", api_identity),
    path("database-identity", plain_identity),
    *project_urlpatterns,
]

handler500 = "api.views.server_error"
