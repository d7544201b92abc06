"""Errors raised below the views that already say what the client should see."""


class ServiceError(Exception):
    """A failure of an outside service or of an upload, as the client should see it.

    Raised below the views (Supabase Auth and Storage calls, image checks) so views stay thin;
    `extra` fields join the body (e.g. weak-password reasons), `retry_after` becomes a header.
    """

    def __init__(
        self, status: int, code: str, message: str, *, retry_after: int | None = None, **extra
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.retry_after, self.extra = retry_after, extra
