"""Where verification keys come from: the legacy HS256 secret, or Supabase's JWKS (cached).

PyJWT's PyJWKClient fetches the key set; the cache around it is ours, because PyJWKClient's
holds one lock over the whole fetch (a request with a cached key waits for another's refetch),
fetches on the request path once its cache expires, and refuses the empty key set of
legacy-secret projects (docs/authentication.md has the measurements). Here requests read keys
from memory without a lock; refreshes run in a background thread; a request whose key is
unknown waits for the refetch it starts at most SUPABASE_JWKS_WAIT (then a quick 503); and a
failed refresh keeps the keys we have (stale-if-error).
"""

import logging
import math
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from jwt import PyJWK, PyJWKClient
from jwt.exceptions import PyJWTError

logger = logging.getLogger(__name__)

# Supabase signs user tokens with ES256 or RS256 keys (SUPABASE.md §2); HMAC keys are never
# published in the JWKS, so a JWKS entry can never turn into an HMAC secret.
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "RS256"})
# urllib's default "Python-urllib/3.x" is refused by some CDN bot rules with a 403
# (jpadilla/pyjwt#1121); Supabase's API sits behind such a CDN.
USER_AGENT = "supabase-django-api/1.0 (PyJWT PyJWKClient)"


class JWKSUnavailable(Exception):
    """The JWKS could not be fetched or parsed."""


@dataclass(frozen=True)
class VerificationKey:
    """A key and the one algorithm it may verify (fixed by the key, never by a token)."""

    algorithm: str
    key: object


def hs256_secret() -> bytes | None:
    """Return the legacy JWT secret as GoTrue uses it (raw UTF-8 bytes, not base64), if set."""
    secret = settings.SUPABASE_JWT_SECRET
    return secret.encode() if secret else None


def parse_jwks(document: object) -> dict[str, VerificationKey]:
    """Return the usable signing keys of a JWKS document by kid; skip keys we cannot use.

    An empty key set is valid: legacy-secret projects publish `{"keys": []}` (SUPABASE.md §10).
    """
    if not isinstance(document, Mapping) or not isinstance(document.get("keys"), list):
        raise JWKSUnavailable("the JWKS is not an object with a list of keys")
    keys = {}
    for entry in document["keys"]:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("kid"), str):
            continue
        key_ops = entry.get("key_ops")
        if entry.get("use", "sig") != "sig" or (
            key_ops is not None and (not isinstance(key_ops, list) or "verify" not in key_ops)
        ):
            continue
        try:
            jwk = PyJWK(dict(entry))
        except (PyJWTError, ValueError, TypeError, KeyError) as exc:
            # One bad entry (unknown kty, truncated coordinates, ...) must not hide the others.
            logger.warning("Skipping JWKS key %r: %s", entry["kid"], exc)
            continue
        if jwk.algorithm_name in ASYMMETRIC_ALGORITHMS:
            keys[entry["kid"]] = VerificationKey(jwk.algorithm_name, jwk.key)
    return keys


@dataclass(frozen=True)
class _Fetch:
    """One fetch in flight: waiters stop waiting at `wait_until`, it gives up at `ends_by`."""

    done: threading.Event
    wait_until: float
    ends_by: float


class JWKSCache:
    """The signing keys published at one JWKS URL, shared by all threads of a process."""

    def __init__(
        self,
        url: str,
        *,
        max_age: float,
        refetch_cooldown: float,
        timeout: float,
        wait: float,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.max_age = max_age
        self.refetch_cooldown = refetch_cooldown
        self.timeout = timeout
        self.wait = wait
        # Only its fetch is used (redirects refused, http(s) only); its caches are not.
        self._client = PyJWKClient(
            url,
            cache_jwk_set=False,
            timeout=timeout,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
        )
        self._keys: dict[str, VerificationKey] = {}
        self._fetched_at: float | None = None
        self._last_fetch_ok: bool | None = None
        self._attempted_at: float | None = None
        self._unknown_kid_fetch_at: float | None = None
        self._reset_lock()

    def _reset_lock(self) -> None:
        self._lock = threading.Lock()  # held for bookkeeping only, never across a fetch
        self._inflight: _Fetch | None = None

    @property
    def healthy(self) -> bool:
        """Return whether the last fetch succeeded and none is still running.

        A kid missing from a healthy cache is really unknown; otherwise we cannot tell.
        """
        return self._inflight is None and bool(self._last_fetch_ok)

    def known(self, kid: str) -> VerificationKey | None:
        """Return the cached key for kid without any network call or wait."""
        return self._keys.get(kid)

    def get(self, kid: str) -> VerificationKey | None:
        """Return the key for kid; an unknown kid starts a refetch (once per cooldown).

        A known kid never waits: a stale key set is refreshed in the background. An unknown
        kid waits for the refetch until SUPABASE_JWKS_WAIT after it started, however many
        requests join it, so a slow JWKS holds a worker that long at most.
        """
        key = self._keys.get(kid)
        if key is not None:
            if self._is_stale():
                self._refresh_in_background()
            return key
        with self._lock:
            fetch = self._inflight
            if fetch is None:
                now = time.monotonic()
                if self._attempted_at is not None:
                    last = self._unknown_kid_fetch_at
                    if last is not None and now - last < self.refetch_cooldown:
                        return None  # a flood of unknown kids must not become a flood of fetches
                    self._unknown_kid_fetch_at = now
                fetch = self._start_locked(background=True)
        fetch.done.wait(max(0.0, fetch.wait_until - time.monotonic()))
        return self._keys.get(kid)

    def ensure_loaded(self) -> None:
        """Start the first fetch unless one was tried, and wait for it as get() would."""
        if self._attempted_at is None:
            with self._lock:
                fetch = self._inflight or self._start_locked(background=True)
            fetch.done.wait(max(0.0, fetch.wait_until - time.monotonic()))

    def warm_up(self) -> None:
        """Fetch the keys now, waiting up to the fetch timeout (at process start)."""
        with self._lock:
            running = self._inflight
            if running is None:
                self._start_locked(background=False)
        if running is not None:
            running.done.wait(max(0.0, running.ends_by - time.monotonic()))
        else:
            self._fetch()

    def retry_after(self) -> int:
        """Return whole seconds until the fetch in flight ends and a new one may start (>= 1)."""
        now = time.monotonic()
        seconds = 0.0
        fetch = self._inflight
        if fetch is not None:
            seconds = fetch.ends_by - now
        if self._unknown_kid_fetch_at is not None:
            seconds = max(seconds, self._unknown_kid_fetch_at + self.refetch_cooldown - now)
        return max(1, math.ceil(seconds))

    def _is_stale(self) -> bool:
        now = time.monotonic()
        if self._attempted_at is not None and now - self._attempted_at < self.refetch_cooldown:
            return False  # retry a failing endpoint at most once per cooldown
        return self._fetched_at is None or now - self._fetched_at > self.max_age

    def _refresh_in_background(self) -> None:
        with self._lock:
            if self._inflight is None:
                self._start_locked(background=True)

    def _start_locked(self, *, background: bool) -> _Fetch:
        """Record a new fetch as in flight (the caller holds the lock) and return it."""
        now = time.monotonic()
        # urllib's timeout bounds each socket operation; allow connect, then read.
        self._inflight = _Fetch(threading.Event(), now + self.wait, now + 2 * self.timeout)
        self._attempted_at = now
        if background:
            threading.Thread(target=self._fetch, name="jwks-refresh", daemon=True).start()
        return self._inflight

    def _fetch(self) -> None:
        try:
            keys = self._download()
        except JWKSUnavailable as exc:
            self._last_fetch_ok = False
            logger.warning(
                "JWKS refresh from %s failed, keeping %d cached keys: %s",
                self.url,
                len(self._keys),
                exc,
            )
        else:
            self._keys = keys  # one atomic swap: readers see the old set or the new one
            self._fetched_at = time.monotonic()
            self._last_fetch_ok = True
        finally:
            with self._lock:
                fetch, self._inflight = self._inflight, None
            if fetch is not None:
                fetch.done.set()

    def _download(self) -> dict[str, VerificationKey]:
        try:
            document = self._client.fetch_data()
        except (PyJWTError, ValueError, RecursionError, OSError) as exc:
            # PyJWKClient maps network errors and HTTP errors (redirects included); a body
            # that is not JSON (ValueError, too deep: RecursionError) or a reset while
            # reading it (OSError) reach us as they are.
            raise JWKSUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return parse_jwks(document)


_jwks: JWKSCache | None = None
_jwks_lock = threading.Lock()


def jwks() -> JWKSCache | None:
    """Return this process's JWKS cache, or None when no JWKS URL is configured."""
    global _jwks
    if _jwks is None and settings.SUPABASE_JWKS_URL:
        with _jwks_lock:
            if _jwks is None:
                apikey = settings.SUPABASE_ANON_KEY
                _jwks = JWKSCache(
                    settings.SUPABASE_JWKS_URL,
                    max_age=settings.SUPABASE_JWKS_MAX_AGE,
                    refetch_cooldown=settings.SUPABASE_JWKS_REFETCH_COOLDOWN,
                    timeout=settings.SUPABASE_JWKS_TIMEOUT,
                    wait=settings.SUPABASE_JWKS_WAIT,
                    # The JWKS route is open, but Supabase's gateway accepts the key if sent.
                    headers={"apikey": apikey} if apikey else None,
                )
    return _jwks


def warm_up() -> None:
    """Load the JWKS at server start so the first requests find the keys in memory."""
    cache = jwks()
    if cache is not None:
        cache.warm_up()


@receiver(setting_changed)
def _forget_cache(setting: str, **kwargs) -> None:
    global _jwks
    if setting.startswith("SUPABASE_"):
        _jwks = None


def _after_fork_in_child() -> None:
    # A fork (gunicorn with preload_app) copies locks in whatever state a thread left them,
    # and no refresh thread survives it.
    if _jwks is not None:
        _jwks._reset_lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
