"""Who may change a post: its author only."""

from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsAuthorOrReadOnly(BasePermission):
    """Let anyone who can see a post read it; only its author change or delete it."""

    message = "Only the author can change this post."
    code = "not_author"

    def has_object_permission(self, request, view, obj) -> bool:
        return request.method in SAFE_METHODS or obj.author_id == getattr(request.user, "id", None)
