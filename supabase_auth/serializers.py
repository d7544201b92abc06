"""Bodies of the auth endpoints, in and out."""

from rest_framework import serializers

# GoTrue hashes with bcrypt, which reads at most 72 bytes; longer passwords are refused there.
PASSWORD_MAX_LENGTH = 72


class CredentialsSerializer(serializers.Serializer):
    """An email address and password of a Supabase Auth user."""

    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(
        max_length=PASSWORD_MAX_LENGTH,
        trim_whitespace=False,
        write_only=True,
        style={"input_type": "password"},
    )


class SignUpSerializer(CredentialsSerializer):
    """A new account: email, password and an optional display name."""

    name = serializers.CharField(
        max_length=100,
        required=False,
        help_text="A display name: the profile's `name` (Supabase: `user_metadata.full_name`).",
    )


class RefreshSerializer(serializers.Serializer):
    """The refresh token of a session."""

    refresh_token = serializers.CharField(max_length=2048, trim_whitespace=False)


class SignOutSerializer(serializers.Serializer):
    """Which sessions to end."""

    scope = serializers.ChoiceField(
        choices=["local", "global", "others"],
        default="local",
        help_text="local: this session; global: every session of the user; others: all but this.",
    )


class TokensSerializer(serializers.Serializer):
    """A Supabase Auth session."""

    access_token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`.")
    refresh_token = serializers.CharField(help_text="Single use: each refresh returns a new one.")
    expires_in = serializers.IntegerField(help_text="Seconds until the access token expires.")
    expires_at = serializers.IntegerField(allow_null=True, help_text="Unix time of expiry.")
    token_type = serializers.CharField()
    user_id = serializers.UUIDField()


class SignUpResultSerializer(serializers.Serializer):
    """Tokens when the account is ready; otherwise only the instruction to confirm the email."""

    email_confirmation_required = serializers.BooleanField()
    detail = serializers.CharField()
    access_token = serializers.CharField(allow_null=True)
    refresh_token = serializers.CharField(allow_null=True)
    expires_in = serializers.IntegerField(allow_null=True)
    expires_at = serializers.IntegerField(allow_null=True)
    token_type = serializers.CharField(allow_null=True)
    user_id = serializers.UUIDField(allow_null=True)
