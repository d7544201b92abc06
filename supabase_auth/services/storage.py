"""Avatar files in Supabase Storage, written as the user so Storage's own policies apply."""

import logging
from contextlib import contextmanager

import httpx
from django.conf import settings
from storage3.exceptions import StorageApiError, StorageException

from api import errors
from supabase_auth.services.clients import SupabaseNotConfigured, storage_client
from supabase_auth.services.errors import (
    ObjectForbidden,
    ObjectTooLarge,
    ObjectTypeRefused,
    StorageMisconfigured,
    StorageUnavailable,
)

logger = logging.getLogger(__name__)

AVATAR_EXTENSIONS = ("png", "jpg", "webp", "gif")
CACHE_SECONDS = "3600"


def avatar_path(user_id: str, extension: str) -> str:
    """Return the object path of a user's avatar: the user's own folder, one file."""
    return f"{user_id}/avatar.{extension}"


def upload_avatar(
    access_token: str, user_id: str, data: bytes, extension: str, content_type: str
) -> str:
    """Store the avatar at `{user_id}/avatar.{ext}` (upsert); return its public URL."""
    files = _avatars(access_token)
    path = avatar_path(user_id, extension)
    options = {"content-type": content_type, "cache-control": CACHE_SECONDS, "upsert": "true"}
    with _translated_errors():
        files.upload(path, data, options)
    stale = [avatar_path(user_id, ext) for ext in AVATAR_EXTENSIONS if ext != extension]
    try:
        files.remove(stale)
    except (StorageException, httpx.HTTPError) as exc:
        # An avatar of another format left behind is untidy, not a failed upload.
        logger.warning("Could not remove old avatar files: %s", type(exc).__name__)
    return files.get_public_url(path)


def remove_avatar(access_token: str, user_id: str) -> None:
    """Delete every avatar file of the user."""
    files = _avatars(access_token)
    with _translated_errors():
        files.remove([avatar_path(user_id, ext) for ext in AVATAR_EXTENSIONS])


def _avatars(access_token: str):
    try:
        return storage_client(access_token).from_(settings.SUPABASE_AVATARS_BUCKET)
    except SupabaseNotConfigured as exc:
        logger.error("Supabase Storage is not configured: %s", exc)
        raise StorageUnavailable("Avatar storage is unavailable.") from exc


@contextmanager
def _translated_errors():
    try:
        yield
    except StorageApiError as exc:
        raise _translate(exc) from exc
    except (StorageException, httpx.HTTPError) as exc:
        logger.warning("Supabase Storage unreachable: %s", type(exc).__name__)
        raise StorageUnavailable() from exc


def _translate(exc: StorageApiError) -> errors.ServiceError:
    # Storage answers HTTP 400 for most errors; the real status is the body's statusCode,
    # a string (SUPABASE.md §5).
    try:
        status = int(exc.status)
    except (TypeError, ValueError):
        status = 500
    if status == 404 or exc.code in ("Bucket not found", "NoSuchBucket"):
        logger.error(
            "Avatar bucket %r is missing: %s", settings.SUPABASE_AVATARS_BUCKET, exc.message
        )
        return StorageMisconfigured()
    refused = {403: ObjectForbidden, 413: ObjectTooLarge, 415: ObjectTypeRefused}.get(status)
    if refused is not None:
        return refused()
    logger.warning("Supabase Storage error %s (%s).", exc.status, exc.code)
    return StorageUnavailable()
