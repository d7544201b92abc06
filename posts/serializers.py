"""Post representations: what clients read and the few fields they may write."""

import copy
from datetime import UTC, datetime

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound

from posts import writes
from posts.changes import MAX_CURSOR_CHARS, Cursor, Deleted, InvalidCursor, Page
from posts.models import CONTENT_MAX_LENGTH, TITLE_MAX_LENGTH, Post


# A plain Serializer with every field declared: a ModelSerializer rebuilds its fields from the
# model on every instantiation, which cost a fifth of a write request in profiles. DRF's
# CharField already refuses NUL and lone surrogate characters (Postgres stores neither).
class PostSerializer(serializers.Serializer):
    """A post: its author wrote it while signed in; ids and times are set by the server."""

    id = serializers.UUIDField(read_only=True)
    author_id = serializers.UUIDField(read_only=True)
    title = serializers.CharField(
        max_length=TITLE_MAX_LENGTH, help_text="1 to 200 characters, surrounding spaces trimmed."
    )
    content = serializers.CharField(
        max_length=CONTENT_MAX_LENGTH,
        allow_blank=True,
        allow_null=True,
        required=False,
        trim_whitespace=False,
        help_text=f"Up to {CONTENT_MAX_LENGTH:,} characters.",
    )
    published = serializers.BooleanField(
        required=False, help_text="Published posts are public; drafts only their author sees."
    )
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    class Meta:
        fields = ["id", "author_id", "title", "content", "published", "created_at", "updated_at"]

    def get_fields(self) -> dict:
        """Shallow copies of the declared fields, not DRF's deep copies.

        DRF re-instantiates every declared field for every serializer (a tenth of a write in
        profiles). A shallow copy gets its own attributes when bound to this serializer and
        shares only what fields never change after construction (validators, messages).
        """
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}

    def create(self, validated_data: dict) -> Post:
        """Insert the granted columns only; the database sets the id and the times."""
        return writes.insert(validated_data)

    def update(self, post: Post, validated_data: dict) -> Post:
        """Write only the fields sent in one UPDATE and return the row as stored.

        The stamp_timestamps trigger moves updated_at (posts/writes.py). No row updated means
        a concurrent DELETE committed between reading the post and writing it: 404.
        """
        stored = writes.update(post.pk, validated_data)
        if stored is None:
            raise NotFound
        return stored

    def to_representation(self, post: Post) -> dict:
        """Return the post's JSON without building DRF fields: lists render up to 100 per call.

        Same output as the declared fields give (DRF renders UTC datetimes ISO 8601 with "Z").
        """
        return {
            "id": str(post.id),
            "author_id": str(post.author_id),
            "title": post.title,
            "content": post.content,
            "published": post.published,
            "created_at": iso8601(post.created_at),
            "updated_at": iso8601(post.updated_at),
        }


def iso8601(moment: datetime) -> str:
    """Format an aware datetime in UTC as DRF's DateTimeField does."""
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class DeletedPostSerializer(serializers.Serializer):
    """A post you could see and can no longer (deleted, unpublished): drop your copy."""

    id = serializers.UUIDField(read_only=True)
    deleted = serializers.BooleanField(read_only=True, help_text="Always true.")


class PostChangesSerializer(serializers.Serializer):
    """What changed since your cursor, oldest change first; each post once, as it is now."""

    changes = PolymorphicProxySerializer(
        component_name="PostChange",
        serializers=[PostSerializer, DeletedPostSerializer],
        resource_type_field_name=None,
        many=True,
        help_text="A post as GET /api/posts/{id} shows it, or `{id, deleted: true}`.",
    )
    cursor = serializers.CharField(
        read_only=True, help_text="Pass it as `since` next time (it stays valid for the retention)."
    )
    more = serializers.BooleanField(
        read_only=True, help_text="More changes are waiting: call again at once with `cursor`."
    )

    def to_representation(self, page: Page) -> dict:
        posts = PostSerializer()
        return {
            "changes": [
                {"id": str(change.id), "deleted": True}
                if isinstance(change, Deleted)
                else posts.to_representation(change)
                for change in page.changes
            ],
            "cursor": page.cursor.encode(),
            "more": page.more,
        }


class PostChangesQuerySerializer(serializers.Serializer):
    """The query of GET /api/posts/changes."""

    MAX_PAGE_SIZE = 100

    since = serializers.CharField(
        required=False,
        max_length=MAX_CURSOR_CHARS,
        help_text="The `cursor` of your last answer. Without it: no changes, and the cursor of "
        "now (take it before loading the lists).",
    )
    page_size = serializers.IntegerField(
        required=False,
        min_value=1,
        default=MAX_PAGE_SIZE,
        help_text=f"Posts per answer (default and maximum {MAX_PAGE_SIZE}).",
    )

    def validate_since(self, value: str) -> Cursor:
        try:
            return Cursor.decode(value)
        except InvalidCursor as exc:
            raise serializers.ValidationError("Invalid cursor.", code="invalid_cursor") from exc

    def validate_page_size(self, value: int) -> int:
        return min(value, self.MAX_PAGE_SIZE)  # DRF's convention: larger asks get the maximum
