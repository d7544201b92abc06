"""Admin for profiles: staff look people up and correct names; identities stay Supabase's."""

from django.contrib import admin, messages
from django.db.models import Count

from profiles.models import Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("email", "name", "post_count", "created_at", "updated_at")
    search_fields = ("email", "name", "=id")
    list_filter = ("created_at", "updated_at")
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    # The id and email come from Supabase Auth (the token's sub and email claim); the avatar
    # URL only ever points into the project's bucket (a CHECK), so staff remove, never type it.
    readonly_fields = ("id", "email", "avatar_url", "created_at", "updated_at")
    fields = ("id", "email", "name", "avatar_url", "created_at", "updated_at")
    actions = ("remove_avatar",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(post_count=Count("posts"))

    @admin.display(description="posts", ordering="post_count")
    def post_count(self, profile: Profile) -> int:
        return profile.post_count

    @admin.action(description="Remove the avatar of selected profiles", permissions=["change"])
    def remove_avatar(self, request, queryset) -> None:
        # The file stays in Storage (only its owner's token may delete it); nothing links to it.
        removed = queryset.exclude(avatar_url=None).update(avatar_url=None)
        self.message_user(request, f"{removed} avatar(s) removed.", messages.SUCCESS)

    def has_add_permission(self, request) -> bool:
        # A profile needs its auth.users row: profiles are made from tokens, not by hand.
        return False
