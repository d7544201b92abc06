"""Posts written by profiles: public once published, private drafts until then."""

import uuid

from django.contrib.postgres.functions import RandomUUID
from django.db import models
from django.db.models.functions import Length, Trim
from django.db.models.lookups import GreaterThanOrEqual, LessThanOrEqual

from profiles.models import TransactionNow
from profiles.timestamps import timestamp_range

TITLE_MAX_LENGTH = 200
CONTENT_MAX_LENGTH = 100_000  # characters; keeps one post well under a megabyte


class Post(models.Model):
    """A post; `published` decides whether anyone but its author may read it."""

    # Access is also enforced by RLS policies shipped in migrations (supabase_auth.django_tables).
    row_level_security = True

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=RandomUUID())
    author = models.ForeignKey(
        "profiles.Profile",
        on_delete=models.CASCADE,
        related_name="posts",
        # The ON DELETE CASCADE constraint is created by a migration (Django 5.2 cannot declare
        # it); the composite indexes below cover lookups by author.
        db_constraint=False,
        db_index=False,
    )
    title = models.TextField()
    content = models.TextField(null=True, blank=True)
    published = models.BooleanField(default=False, db_default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_default=TransactionNow())
    updated_at = models.DateTimeField(auto_now=True, db_default=TransactionNow())

    class Meta:
        db_table = "posts"
        ordering = ["-created_at", "-id"]
        indexes = [
            # GET /api/posts/: published posts, newest first.
            models.Index(
                fields=["-created_at", "-id"],
                condition=models.Q(published=True),
                name="posts_published_feed_idx",
            ),
            # GET /api/posts/me and ?author=: one author's posts, newest first; RLS by author.
            models.Index(fields=["author", "-created_at", "-id"], name="posts_author_feed_idx"),
            # ?updated_after=: the polling fallback for clients without realtime.
            models.Index(fields=["updated_at"], name="posts_updated_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=GreaterThanOrEqual(Length(Trim("title")), 1)
                & LessThanOrEqual(Length("title"), TITLE_MAX_LENGTH),
                name="posts_title_length",
            ),
            models.CheckConstraint(
                condition=models.Q(content__isnull=True)
                | LessThanOrEqual(Length("content"), CONTENT_MAX_LENGTH),
                name="posts_content_length",
            ),
            timestamp_range("posts", "created_at"),
            timestamp_range("posts", "updated_at"),
        ]

    def __str__(self) -> str:
        return self.title


class Xid8Field(models.Field):
    """A Postgres `xid8`: a 64-bit transaction id (loaded as text; the SQL compares them)."""

    description = "PostgreSQL 64-bit transaction id"

    def db_type(self, connection) -> str:
        return "xid8"


class CurrentTransactionId(models.Func):
    """SQL `pg_current_xact_id()`: the writing transaction's top-level id."""

    function = "pg_current_xact_id"
    template = "%(function)s()"
    output_field = Xid8Field()


class PostChange(models.Model):
    """One write to a post, kept for the change feed (posts/changes.py); rows come from a trigger.

    Who could see the post before and after the write is kept, not its content: the feed sends
    each post's current state, and a "deleted" only to callers who could have seen it.
    """

    # Read through RLS by the API roles (posts/migrations/0004); written by the trigger only.
    row_level_security = True

    seq = models.BigAutoField(primary_key=True)
    xid = Xid8Field(db_default=CurrentTransactionId())
    post_id = models.UUIDField()
    old_author_id = models.UUIDField(null=True)  # null: the write created the post
    new_author_id = models.UUIDField(null=True)  # null: the write deleted it
    was_published = models.BooleanField()
    is_published = models.BooleanField()

    class Meta:
        db_table = "post_changes"
        indexes = [models.Index(fields=["xid"], name="post_changes_xid_idx")]

    def __str__(self) -> str:
        return f"{self.post_id} in {self.xid}"


class PostChangeCheckpoint(models.Model):
    """The oldest running transaction at a moment: retention is measured in these.

    Pruning deletes the changes of transactions older than the last checkpoint taken at least
    the retention ago; the oldest checkpoint kept is where cursors stop being valid.
    """

    row_level_security = True

    taken_at = models.DateTimeField(db_default=TransactionNow())
    horizon = Xid8Field()  # pg_snapshot_xmin: every older transaction had finished

    class Meta:
        db_table = "post_change_checkpoints"
        indexes = [models.Index(fields=["taken_at"], name="post_change_checkpoints_at_idx")]

    def __str__(self) -> str:
        return f"{self.horizon} at {self.taken_at}"
