"""Admin for profiles: staff look people up and correct names; identities stay Supabase's."""

from django.contrib import admin
from django.db.models import Count

from profiles.models import Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("email", "name", "post_count", "created_at", "updated_at")
    search_fields = ("email", "name", "=id")
    list_filter = ("created_at", "updated_at")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    # The id and email come from Supabase Auth (the token's sub and email claim).
    readonly_fields = ("id", "email", "created_at", "updated_at")
    fields = ("id", "email", "name", "avatar_url", "created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(post_count=Count("posts"))

    @admin.display(description="posts", ordering="post_count")
    def post_count(self, profile: Profile) -> int:
        return profile.post_count

    def has_add_permission(self, request) -> bool:
        # A profile needs its auth.users row: profiles are made from tokens, not by hand.
        return False
