"""Post routes, each with or without the trailing slash (no redirect)."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from posts.views import PostChangesView, PostViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # the constructor only knows "/" or ""
router.register("posts", PostViewSet, basename="post")

urlpatterns = [
    re_path(r"^posts/changes/?$", PostChangesView.as_view(), name="post-changes"),
    *router.urls,
]
