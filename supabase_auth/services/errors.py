"""What can go wrong when calling Supabase Auth and Storage, as domain errors (no HTTP here)."""

from api import errors


class AuthUnavailable(errors.Unavailable):
    """Supabase Auth is down, slow, misconfigured, or answered something unusable."""

    code = "auth_unavailable"
    message = "Authentication is unavailable; try again shortly."


class StorageUnavailable(errors.Unavailable):
    """Supabase Storage is down, slow, or answered something unusable."""

    code = "storage_unavailable"
    message = "Avatar storage is unavailable; try again shortly."


class StorageMisconfigured(StorageUnavailable):
    """The avatars bucket does not exist (docs/storage-avatars.sql)."""

    code = "storage_misconfigured"
    message = "Avatar storage is not set up."


class ObjectForbidden(errors.Forbidden):
    """Storage's own policies refused the write."""

    code = "storage_forbidden"
    message = "Storage refused the upload (its policies do not allow it)."


class ObjectTooLarge(errors.TooLarge):
    code = "file_too_large"
    message = "Storage refused the file as too large."


class ObjectTypeRefused(errors.UnsupportedType):
    code = "unsupported_image_type"
    message = "Storage refused this image type."
