"""A user's public face: one row per Supabase Auth user, keyed by the token's `sub`."""

from django.db import connections, models, router

from profiles import avatar_urls
from profiles.timestamps import timestamp_range


class TransactionNow(models.Func):
    """SQL `now()`, the timestamp default Supabase's dashboard uses.

    Django's Now() renders statement_timestamp(); now() is also the stamp_timestamps clock.
    """

    template = "now()"
    output_field = models.DateTimeField()


class AvatarUrlAllowed(models.Func):
    """SQL `profile_avatar_url_ok(id, url)`: whether url is this profile's avatar in our bucket.

    Created by profiles' migrations; profiles.avatar_urls keeps the bucket's URL it checks
    equal to the settings (SUPABASE_URL, SUPABASE_AVATARS_BUCKET).
    """

    function = "public.profile_avatar_url_ok"
    output_field = models.BooleanField()


class Profile(models.Model):
    """The profile of a Supabase Auth user (`profiles.id` = `auth.users.id`)."""

    # Access is also enforced by RLS policies shipped in migrations (supabase_auth.django_tables).
    row_level_security = True

    id = models.UUIDField(primary_key=True, help_text="The Supabase Auth user id (token `sub`).")
    email = models.TextField(blank=True, db_default="", help_text="Copied from the token; private.")
    name = models.TextField(null=True, blank=True)
    avatar_url = models.TextField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_default=TransactionNow())
    updated_at = models.DateTimeField(auto_now=True, db_default=TransactionNow())

    class Meta:
        db_table = "profiles"
        ordering = ["-created_at"]
        constraints = [
            timestamp_range("profiles", "created_at"),
            timestamp_range("profiles", "updated_at"),
            models.CheckConstraint(
                condition=models.Q(avatar_url__isnull=True)
                | AvatarUrlAllowed(models.F("id"), models.F("avatar_url")),
                name="profiles_avatar_url_own_bucket",
            ),
        ]

    def __str__(self) -> str:
        return self.email or self.name or str(self.id)

    def save(self, *args, **kwargs) -> None:
        """Save; before storing an avatar URL, make sure the database checks today's bucket."""
        update_fields = kwargs.get("update_fields")
        if self.avatar_url and (update_fields is None or "avatar_url" in update_fields):
            using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
            avatar_urls.ensure_enforced(connections[using])
        super().save(*args, **kwargs)
