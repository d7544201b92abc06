"""Django's CACHES entry: Redis (REDIS_URL) shared by every node, or memory local to each process.

Settings read the environment and call `cache_config()`; nothing here reads variables or
connects. The password leaves the URL for OPTIONS["password"]: Django's debug page masks
settings by key name (PASS), never a password inside a URL.
"""

from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"
LOCAL_CACHE = "django.core.cache.backends.locmem.LocMemCache"
REDIS_SCHEMES = ("redis", "rediss", "unix")


def cache_config(url: str, *, variable: str, timeout: float) -> dict:
    """Return the default cache: RedisCache for a redis:// URL, per-process memory when empty.

    `timeout` bounds both connecting and each command (seconds): a dead or unreachable Redis
    costs a request at most that long, never a hang (redis-py's defaults wait forever).
    """
    if timeout <= 0:
        raise ImproperlyConfigured("REDIS_TIMEOUT must be a positive number of seconds.")
    if not url:
        return {"BACKEND": LOCAL_CACHE}
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES:
        raise ImproperlyConfigured(
            f"{variable} must be a redis://, rediss:// or unix:// URL (got {parts.scheme or '?'}://)."
        )
    options = {"socket_connect_timeout": timeout, "socket_timeout": timeout}
    if parts.password is not None:
        options["password"] = parts.password
        netloc = parts.netloc.rpartition("@")[2]
        if parts.username:
            netloc = f"{parts.username}@{netloc}"
        parts = parts._replace(netloc=netloc)
    return {"BACKEND": REDIS_CACHE, "LOCATION": urlunsplit(parts), "OPTIONS": options}
