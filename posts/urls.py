"""Post routes, each with or without the trailing slash (no redirect)."""

from rest_framework.routers import SimpleRouter

from posts.views import PostViewSet

router = SimpleRouter()
router.trailing_slash = "/?"  # the constructor only knows "/" or ""
router.register("posts", PostViewSet, basename="post")

urlpatterns = router.urls
