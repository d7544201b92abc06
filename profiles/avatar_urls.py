"""Keep Postgres's avatar URL rule equal to the configured Storage bucket (Django settings).

CHECK profiles_avatar_url_own_bucket allows only `{prefix}{profile id}/avatar.{png|jpg|webp|gif}`
with an optional `?v=<hex>`, where prefix is the bucket's public URL. Postgres cannot read
Django's settings, so the prefix is the body of the SQL function profile_avatar_url_prefix(),
which this module rewrites whenever SUPABASE_URL or SUPABASE_AVATARS_BUCKET give another one:
after every `manage.py migrate`, and before a process first stores an avatar URL.
"""

import logging

from django.conf import settings
from django.core.signals import setting_changed
from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.dispatch import receiver
from psycopg import sql
from yarl import URL

logger = logging.getLogger(__name__)

# Serialises the check-and-replace across processes (pg_advisory_xact_lock's key).
SYNC_LOCK_KEY = 0x70726F66696C6573  # "profiles"
PREFIX_FUNCTION_SQL = """
create or replace function public.profile_avatar_url_prefix() returns text
  language sql immutable parallel safe
  set search_path = ''
  as {body}
"""

# Database alias -> the prefix this process knows its database enforces.
_enforced: dict[str, str] = {}


def bucket_prefix() -> str:
    """Return the public URL every avatar of this project starts with ('' without SUPABASE_URL).

    Built as storage3's get_public_url builds avatar URLs (yarl lower-cases the host and drops
    a default port), so the URLs the upload stores start with exactly this text.
    """
    if not settings.SUPABASE_URL:
        return ""
    storage = URL(f"{settings.SUPABASE_URL}/storage/v1/")
    return f"{storage.joinpath('object', 'public', settings.SUPABASE_AVATARS_BUCKET)}/"


def enforced_prefix(connection: BaseDatabaseWrapper) -> str | None:
    """Return the prefix the database enforces, or None before profiles' migration made it."""
    with connection.cursor() as cursor:
        cursor.execute("select to_regprocedure('public.profile_avatar_url_prefix()') is not null")
        if not cursor.fetchone()[0]:
            return None
        cursor.execute("select public.profile_avatar_url_prefix()")
        return cursor.fetchone()[0]


def install_prefix(connection: BaseDatabaseWrapper, prefix: str) -> None:
    """(Re)define profile_avatar_url_prefix() to return prefix ('' allows no avatar at all)."""
    body = sql.Literal(f"select {sql.Literal(prefix).as_string()}::text")
    statement = sql.SQL(PREFIX_FUNCTION_SQL).format(body=body).as_string()
    with connection.cursor() as cursor:
        cursor.execute(statement)


def sync(connection: BaseDatabaseWrapper) -> None:
    """Make the database enforce the configured bucket, moving stored avatar URLs along.

    Stored URLs keep their path: a new SUPABASE_URL (a custom domain) or bucket name rewrites
    their prefix, and setting the old one back restores them. Without SUPABASE_URL nothing is
    changed: no configuration is not a reason to drop every avatar.
    """
    prefix = bucket_prefix()
    if not prefix:
        return
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("select pg_advisory_xact_lock(%s)", [SYNC_LOCK_KEY])
        old = enforced_prefix(connection)
        if old is None or old == prefix:
            return
        install_prefix(connection, prefix)
        moved = 0
        if old:
            cursor.execute(
                "update profiles set avatar_url = %s || substr(avatar_url, length(%s) + 1) "
                "where starts_with(avatar_url, %s)",
                [prefix, old, old],
            )
            moved = cursor.rowcount
        logger.info("Avatar URLs must now start with %s (was %r); %d moved.", prefix, old, moved)
    _enforced[connection.alias] = prefix


def ensure_enforced(connection: BaseDatabaseWrapper) -> None:
    """Sync once per process and configured prefix, before the first avatar URL is stored.

    A process started with another SUPABASE_URL than the last `migrate` saw would otherwise
    fail every avatar upload on the CHECK.
    """
    if _enforced.get(connection.alias) == bucket_prefix():
        return
    sync(connection)
    _enforced[connection.alias] = bucket_prefix()


def sync_after_migrate(using: str, **kwargs) -> None:
    """Sync after `manage.py migrate` (Procfile's release step) and test database setup."""
    sync(connections[using])


@receiver(setting_changed)
def _forget_enforced_prefix(setting: str, **kwargs) -> None:
    # Tests point SUPABASE_URL at local stand-ins: check the database again next time.
    if setting in ("SUPABASE_URL", "SUPABASE_AVATARS_BUCKET"):
        _enforced.clear()
