"""Read-only views of the Supabase-owned tables we rely on (`auth.users`, `auth.sessions`).

Supabase Auth owns these tables; Django never migrates them (managed = False) and reads
only the columns listed here (SUPABASE.md §6: reference only `auth.users.id`).
"""

from django.db import models


class AuthUser(models.Model):
    """A Supabase Auth identity (`auth.users`)."""

    id = models.UUIDField(primary_key=True)
    email = models.CharField(max_length=255, null=True)
    created_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = '"auth"."users"'

    def __str__(self) -> str:
        return self.email or str(self.id)


class AuthSession(models.Model):
    """A signed-in session (`auth.sessions`); signing out deletes its row."""

    id = models.UUIDField(primary_key=True)
    user = models.ForeignKey(AuthUser, on_delete=models.DO_NOTHING, db_constraint=False)
    created_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = '"auth"."sessions"'

    def __str__(self) -> str:
        return str(self.id)
