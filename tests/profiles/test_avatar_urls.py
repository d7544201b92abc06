"""The database's avatar URL rule follows the settings: migrate and the first save sync it."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from profiles import avatar_urls
from profiles.models import Profile

DEFAULT_PREFIX = "http://127.0.0.1:54321/storage/v1/object/public/avatars/"  # test settings
CUSTOM_DOMAIN = "https://api.example.com"


def stored_avatar(profile: Profile) -> str | None:
    return Profile.objects.values_list("avatar_url", flat=True).get(id=profile.id)


def store_avatar(profile: Profile, prefix: str, name: str = "avatar.png?v=0a0a") -> str:
    url = f"{prefix}{profile.id}/{name}"
    Profile.objects.filter(id=profile.id).update(avatar_url=url)
    return url


@pytest.mark.parametrize(
    ("supabase_url", "bucket", "prefix"),
    [
        ("http://127.0.0.1:54321", "avatars", DEFAULT_PREFIX),
        (
            "https://ABCD.supabase.co",
            "avatars",
            "https://abcd.supabase.co/storage/v1/object/public/avatars/",
        ),
        (
            "https://abcd.supabase.co:443",
            "faces",
            "https://abcd.supabase.co/storage/v1/object/public/faces/",
        ),
        ("", "avatars", ""),
    ],
    ids=["local", "upper-case-host", "default-port", "unset"],
)
def test_bucket_prefix_is_what_storage3_puts_before_the_path(
    settings, supabase_url, bucket, prefix
):
    settings.SUPABASE_URL = supabase_url
    settings.SUPABASE_AVATARS_BUCKET = bucket

    assert avatar_urls.bucket_prefix() == prefix


def test_the_test_database_enforces_the_configured_bucket(db):
    assert avatar_urls.enforced_prefix(connection) == DEFAULT_PREFIX


def test_migrate_moves_the_rule_and_stored_avatars_to_a_new_supabase_url(
    settings, author, other_user
):
    store_avatar(author, DEFAULT_PREFIX)
    settings.SUPABASE_URL = CUSTOM_DOMAIN

    call_command("migrate", verbosity=0)

    new_prefix = f"{CUSTOM_DOMAIN}/storage/v1/object/public/avatars/"
    assert avatar_urls.enforced_prefix(connection) == new_prefix
    assert stored_avatar(author) == f"{new_prefix}{author.id}/avatar.png?v=0a0a"
    assert stored_avatar(other_user) is None


def test_moving_back_restores_the_stored_avatars(settings, author):
    url = store_avatar(author, DEFAULT_PREFIX)
    settings.SUPABASE_URL = CUSTOM_DOMAIN
    avatar_urls.sync(connection)

    settings.SUPABASE_URL = "http://127.0.0.1:54321"
    avatar_urls.sync(connection)

    assert stored_avatar(author) == url


def test_without_supabase_url_the_rule_and_the_avatars_stay(settings, author):
    url = store_avatar(author, DEFAULT_PREFIX)
    settings.SUPABASE_URL = ""

    call_command("migrate", verbosity=0)

    assert avatar_urls.enforced_prefix(connection) == DEFAULT_PREFIX
    assert stored_avatar(author) == url


def test_first_avatar_saved_by_a_process_with_another_url_syncs_the_rule(settings, author):
    # A server started with another SUPABASE_URL than the last migrate saw.
    settings.SUPABASE_URL = CUSTOM_DOMAIN
    url = f"{CUSTOM_DOMAIN}/storage/v1/object/public/avatars/{author.id}/avatar.jpg?v=12ab"

    author.avatar_url = url
    author.save(update_fields=["avatar_url"])

    assert stored_avatar(author) == url
    assert avatar_urls.enforced_prefix(connection).startswith(CUSTOM_DOMAIN)


def test_a_url_of_the_old_bucket_is_refused_once_the_rule_moved(settings, author):
    settings.SUPABASE_URL = CUSTOM_DOMAIN
    avatar_urls.sync(connection)

    with (
        pytest.raises(IntegrityError, match="profiles_avatar_url_own_bucket"),
        transaction.atomic(),
    ):
        store_avatar(author, DEFAULT_PREFIX)

    assert stored_avatar(author) is None
