"""A user's public face: one row per Supabase Auth user, keyed by the token's `sub`."""

from django.db import models


class TransactionNow(models.Func):
    """SQL `now()`, the timestamp default Supabase's dashboard uses.

    Django's Now() renders statement_timestamp(); now() is also the touch_updated_at clock.
    """

    template = "now()"
    output_field = models.DateTimeField()


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

    def __str__(self) -> str:
        return self.email or self.name or str(self.id)
