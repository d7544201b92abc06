"""Profile routes, each with or without the trailing slash (no redirect)."""

from django.urls import re_path

from api.paths import UUID_PATTERN
from profiles import views

urlpatterns = [
    re_path(r"^profiles/me/?$", views.MyProfileView.as_view(), name="profile-me"),
    re_path(r"^profiles/me/avatar/?$", views.MyAvatarView.as_view(), name="profile-avatar"),
    re_path(
        rf"^profiles/(?P<pk>{UUID_PATTERN})/?$",
        views.PublicProfileView.as_view(),
        name="profile-detail",
    ),
    re_path(
        rf"^profiles/(?P<pk>{UUID_PATTERN})/posts/?$",
        views.ProfilePostsView.as_view(),
        name="profile-posts",
    ),
]
