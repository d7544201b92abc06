"""Profile representations: the owner's view (with email) and the public one (without)."""

from rest_framework import serializers

from profiles import writes
from profiles.models import Profile

NAME_MAX_LENGTH = 100


class MyProfileSerializer(serializers.ModelSerializer):
    """The caller's own profile. Only the name is theirs to edit here.

    The id and email come from Supabase Auth; the avatar is set by uploading an image.
    """

    name = serializers.CharField(
        max_length=NAME_MAX_LENGTH, allow_null=True, allow_blank=True, required=False
    )

    class Meta:
        model = Profile
        fields = ["id", "email", "name", "avatar_url", "created_at", "updated_at"]
        read_only_fields = ["id", "email", "avatar_url", "created_at", "updated_at"]

    def validate_name(self, value: str | None) -> str | None:
        return value or None  # a blank name is no name

    def update(self, profile: Profile, validated_data: dict) -> Profile:
        """Write the name alone, within the API roles' grants (profiles/writes.py)."""
        return writes.rename(profile, validated_data)


class PublicProfileSerializer(serializers.ModelSerializer):
    """What anyone may see of a profile: never the email.

    The same columns `anon` and `authenticated` may select through Supabase's Data API.
    """

    class Meta:
        model = Profile
        fields = ["id", "name", "avatar_url", "created_at", "updated_at"]
        read_only_fields = fields


class AvatarUploadSerializer(serializers.Serializer):
    """The multipart body of an avatar upload."""

    file = serializers.FileField(
        allow_empty_file=False, help_text="PNG, JPEG, WebP or GIF; the type is read from the bytes."
    )
