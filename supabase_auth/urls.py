"""Auth routes, each with or without the trailing slash (no redirect)."""

from django.urls import re_path

from supabase_auth import views

urlpatterns = [
    re_path(r"^auth/signup/?$", views.SignUpView.as_view(), name="auth-signup"),
    re_path(r"^auth/signin/?$", views.SignInView.as_view(), name="auth-signin"),
    re_path(r"^auth/refresh/?$", views.RefreshView.as_view(), name="auth-refresh"),
    re_path(r"^auth/signout/?$", views.SignOutView.as_view(), name="auth-signout"),
]
