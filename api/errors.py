"""Failures raised below the views, by kind; the exception handler gives each kind its status.

Services (Supabase Auth and Storage calls, image checks) raise these so that views stay thin and
no module below the HTTP layer knows a status code (api/exceptions.py maps them).
"""


class ServiceError(Exception):
    """A failure the client should hear about: a stable `code` and a message safe to show.

    `retry_after` (seconds) becomes a Retry-After header; `extra` fields join the body (for
    example the reasons a password is weak).
    """

    code = "service_error"
    message = "The request could not be served."

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        retry_after: int | None = None,
        **extra,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.retry_after, self.extra = retry_after, extra
        super().__init__(self.message)


class InvalidInput(ServiceError):
    """The input is malformed for the service (a bad email, a corrupt image)."""


class Refused(ServiceError):
    """The caller's credentials or tokens were refused."""


class Forbidden(ServiceError):
    """The caller is known but not allowed to do this."""


class TooLarge(ServiceError):
    """The input is larger than allowed."""


class UnsupportedType(ServiceError):
    """The input is of a type that is not accepted."""


class Unprocessable(ServiceError):
    """The input is well-formed but refused (a weak password, an email already registered)."""


class Gone(ServiceError):
    """What the request points at is no longer kept (an expired cursor): start over."""


class RateLimited(ServiceError):
    """Too many attempts; retry after `retry_after` seconds."""


class Unavailable(ServiceError):
    """An outside service is down, slow or not set up: retrying later may work."""
