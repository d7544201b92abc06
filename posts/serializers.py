"""Post representations: what clients read and the few fields they may write."""

from rest_framework import serializers

from posts.models import CONTENT_MAX_LENGTH, TITLE_MAX_LENGTH, Post


class PostSerializer(serializers.ModelSerializer):
    """A post. The author is the caller, never taken from the body; ids and times are ours.

    DRF's CharField already refuses NUL and lone surrogate characters (Postgres stores neither).
    """

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

    class Meta:
        model = Post
        fields = ["id", "author_id", "title", "content", "published", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
