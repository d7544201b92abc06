"""The cache that nodes share (Redis, or each process's memory), used so that an outage fails open.

Throttle counters and read-your-writes markers live here. A Redis outage must not be an API
outage (DESIGN.md, REDIS_URL): every call returns None instead of raising, logs a warning at
most once a minute per process, and after a failure the cache is left alone for
`CACHE_RETRY_SECONDS`, so that only one request in that time pays the (bounded) timeout.
"""

import logging
import threading
import time

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

WARNING_INTERVAL = 60.0  # seconds between two warnings about the same outage, per process

# Errors of the cache backends in use: redis-py's family, sockets, and LocMemCache's ValueError
# for a counter that expired between add() and incr().
CACHE_ERRORS = (RedisError, OSError)

_lock = threading.Lock()
_skip_until = 0.0
_last_warning = 0.0


def available() -> bool:
    """Return whether the cache may be tried now (not within the pause after a failure)."""
    return time.monotonic() >= _skip_until


def _failed(operation: str, exc: Exception) -> None:
    global _skip_until, _last_warning
    now = time.monotonic()
    with _lock:
        _skip_until = now + settings.CACHE_RETRY_SECONDS
        warn = now - _last_warning >= WARNING_INTERVAL
        if warn:
            _last_warning = now
    if warn:
        logger.warning(
            "Shared cache unavailable (%s: %s): rate limits are not enforced and "
            "read-your-writes reads go to the primary until it is back.",
            operation,
            type(exc).__name__,
        )


def count(key: str, window_seconds: int) -> int | None:
    """Add one to the counter `key` and return it; None if unavailable.

    The first hit opens the counter's window: it lives `window_seconds` from then, and
    `window_end(key)` says when that is. `add` then `incr` is atomic on Redis (INCR) and under
    LocMemCache's lock, so N concurrent requests on any number of nodes see N distinct values:
    unlike DRF's read-then-write throttle history, no two requests can both take the last slot.
    """
    if not available():
        return None
    try:
        if cache.add(key, 1, timeout=window_seconds):
            cache.set(_end_key(key), time.time() + window_seconds, timeout=window_seconds)
            return 1
        try:
            hits = cache.incr(key)
        except ValueError:  # expired between add() and incr(): a new window starts
            return count(key, window_seconds)
        if hits == 1:
            # Redis' INCR re-created a counter that expired after Django's EXISTS check: give
            # it its window, or it would never expire and throttle its client for good.
            cache.touch(key, timeout=window_seconds)
        return hits
    except CACHE_ERRORS as exc:
        _failed("count", exc)
        return None


def window_end(key: str) -> float | None:
    """Return when the window of the counter `key` ends (Unix time), or None if unknown."""
    end = get(_end_key(key))
    return end if isinstance(end, float) else None


def _end_key(counter_key: str) -> str:
    return f"{counter_key}:ends"


def get(key: str) -> object | None:
    """Return the value at `key`, or None when absent or unavailable (see `available()`)."""
    if not available():
        return None
    try:
        return cache.get(key)
    except CACHE_ERRORS as exc:
        _failed("get", exc)
        return None


def put(key: str, value: object, timeout: float) -> bool:
    """Store `value` at `key` for `timeout` seconds; return whether it was stored."""
    if not available():
        return False
    try:
        cache.set(key, value, timeout=timeout)
    except CACHE_ERRORS as exc:
        _failed("set", exc)
        return False
    return True
