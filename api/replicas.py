"""Read replicas (DATABASE_REPLICA_URLS): public reads on a replica, everything else on the primary.

Only views marked `@public_read` (the feed, one post, public profiles and their posts) read
from a replica; authentication, writes, and everything else use the primary. A client that
wrote reads its own writes: after a write, a marker in the shared cache sends that user's
public reads to the primary for DATABASE_REPLICA_STICKY_SECONDS, on every node. A replica that
fails is skipped for DATABASE_REPLICA_RETRY_SECONDS and the read runs again on the primary, so
a replica outage costs one slow request per process, never a 5xx.
"""

import contextlib
import functools
import logging
import random
import time
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse

from api import shared_cache

logger = logging.getLogger(__name__)

REPLICA_PREFIX = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# The replica the current request reads from (None: the primary); set by @public_read.
_read_alias: ContextVar[str | None] = ContextVar("read_alias", default=None)
# Per process: replica alias -> monotonic time before which it is not tried again.
_skipped_until: dict[str, float] = {}


def replica_aliases() -> list[str]:
    """Return the aliases of the configured replicas (DATABASES entries `replica1`, ...)."""
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


def _wrote_key(user_id: object) -> str:
    return f"replicas:wrote:{user_id}"


def choose_replica(request: HttpRequest) -> str | None:
    """Return the replica for this request's public reads, or None for the primary.

    A signed-in user who wrote within the stickiness window reads from the primary; so does
    one whose marker cannot be checked (shared cache down): a stale read of one's own write
    is the failure to avoid, a read on the primary is only slower.
    """
    now = time.monotonic()
    candidates = [alias for alias in replica_aliases() if _skipped_until.get(alias, 0) <= now]
    if not candidates:
        return None
    user = getattr(request, "user", None)
    if (
        user is not None
        and user.is_authenticated
        and (shared_cache.get(_wrote_key(user.pk)) is not None or not shared_cache.available())
    ):
        return None
    return random.choice(candidates)  # noqa: S311 - load spreading, not security


def _skip(alias: str, exc: Exception) -> None:
    _skipped_until[alias] = time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS
    logger.warning(
        "Replica %s failed (%s): reading from the primary for %s s.",
        alias,
        type(exc).__name__,
        settings.DATABASE_REPLICA_RETRY_SECONDS,
    )
    with contextlib.suppress(DatabaseError):
        connections[alias].close()


def public_read(handler: Callable) -> Callable:
    """Mark a view method as a public read: it may run on a replica (see the module doc)."""

    @functools.wraps(handler)
    def read(view, request, *args, **kwargs) -> HttpResponse:
        alias = choose_replica(request)
        if alias is None:
            return handler(view, request, *args, **kwargs)
        token = _read_alias.set(alias)
        try:
            return handler(view, request, *args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            # Reads are safe to repeat (RFC 9110 §9.2.2): the same read, on the primary.
            _skip(alias, exc)
        finally:
            _read_alias.reset(token)
        return handler(view, request, *args, **kwargs)

    return read


class ReplicaRouter:
    """Django database router: reads of a @public_read view to its replica, the rest default."""

    def db_for_read(self, model, **hints) -> str | None:
        return _read_alias.get()

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool:
        return True  # the replicas hold the primary's rows

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool | None:
        return False if db.startswith(REPLICA_PREFIX) else None


class ReadYourWritesMiddleware:
    """After a signed-in user's write, send their public reads to the primary for a while."""

    def __init__(self, get_response: Callable) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Marked whatever the status: a failed write may still have committed something.
        if request.method not in SAFE_METHODS:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                shared_cache.put(
                    _wrote_key(user.pk), 1, timeout=settings.DATABASE_REPLICA_STICKY_SECONDS
                )
        return response
