"""Where verification keys come from: the legacy HS256 secret, or Supabase's JWKS (cached).

PyJWT's PyJWKClient is not used because it refetches on the request path under one lock when its
cache expires, forgets every key when that refetch fails, and does not rate-limit failed fetches.
Here a request waits on the network only when its token names a key this process has never seen
(once per cooldown at most, as after a key rotation); known keys are served from memory and
refreshed in the background, and a failed refresh keeps the keys we have (stale-if-error).
"""

import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from jwt import PyJWK
from jwt.exceptions import PyJWTError

logger = logging.getLogger(__name__)

# Supabase signs user tokens with ES256 or RS256 keys (SUPABASE.md §2); HMAC keys are never
# published in the JWKS, so a JWKS entry can never turn into an HMAC secret.
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "RS256"})


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
    """Return the usable signing keys of a JWKS document by kid; skip keys we cannot use."""
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


class JWKSCache:
    """The signing keys published at one JWKS URL, shared by all threads of a process."""

    def __init__(
        self,
        url: str,
        *,
        max_age: float,
        refetch_cooldown: float,
        timeout: float,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.url = url
        self.max_age = max_age
        self.refetch_cooldown = refetch_cooldown
        self.timeout = timeout
        self.headers = dict(headers or {})
        self._keys: dict[str, VerificationKey] = {}
        self._fetched_at: float | None = None
        self._last_fetch_ok: bool | None = None
        self._attempted_at: float | None = None
        self._unknown_kid_fetch_at: float | None = None
        self._reset_lock()

    def _reset_lock(self) -> None:
        self._lock = threading.Lock()
        self._inflight: threading.Event | None = None

    @property
    def healthy(self) -> bool:
        """Return whether the last fetch succeeded and none is still running.

        A kid missing from a healthy cache is really unknown; otherwise we cannot tell.
        """
        return self._inflight is None and bool(self._last_fetch_ok)

    def known(self, kid: str) -> VerificationKey | None:
        """Return the cached key for kid without any network call."""
        return self._keys.get(kid)

    def get(self, kid: str) -> VerificationKey | None:
        """Return the key for kid, refetching once per cooldown when kid is unknown."""
        key = self._keys.get(kid)
        if key is not None:
            if self._is_stale():
                self._run_fetch(self._claim_fetch(), wait=False)
            return key
        with self._lock:
            if self._inflight is not None:
                job = (self._inflight, False)  # join the fetch already running
            elif self._attempted_at is None:
                job = self._claim_fetch_locked()  # first load: not an unknown-kid refetch
            else:
                now = time.monotonic()
                last = self._unknown_kid_fetch_at
                if last is not None and now - last < self.refetch_cooldown:
                    return None  # a flood of unknown kids must not become a flood of fetches
                self._unknown_kid_fetch_at = now
                job = self._claim_fetch_locked()
        self._run_fetch(job, wait=True)
        return self._keys.get(kid)

    def ensure_loaded(self) -> None:
        """Fetch the keys unless this process has already tried (one wait per process)."""
        if self._attempted_at is None:
            self._run_fetch(self._claim_fetch(), wait=True)

    def warm_up(self) -> None:
        """Fetch the keys now (at process start), so no request has to."""
        self._run_fetch(self._claim_fetch(), wait=True)

    def _is_stale(self) -> bool:
        now = time.monotonic()
        if self._attempted_at is not None and now - self._attempted_at < self.refetch_cooldown:
            return False  # retry a failing endpoint at most once per cooldown
        return self._fetched_at is None or now - self._fetched_at > self.max_age

    def _claim_fetch(self) -> tuple[threading.Event, bool]:
        with self._lock:
            return self._claim_fetch_locked()

    def _claim_fetch_locked(self) -> tuple[threading.Event, bool]:
        """Return (event, leader): one fetch at a time, later callers join the one in flight."""
        if self._inflight is not None:
            return self._inflight, False
        self._inflight = threading.Event()
        self._attempted_at = time.monotonic()
        return self._inflight, True

    def _run_fetch(self, job: tuple[threading.Event, bool], *, wait: bool) -> None:
        done, leader = job
        if leader and wait:
            self._fetch(done)
        elif leader:
            threading.Thread(target=self._fetch, args=(done,), daemon=True).start()
        elif wait:
            done.wait(self.timeout * 2)

    def _fetch(self, done: threading.Event) -> None:
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
                self._inflight = None
            done.set()

    def _download(self) -> dict[str, VerificationKey]:
        try:
            response = httpx.get(
                self.url, headers=self.headers, timeout=self.timeout, follow_redirects=False
            )
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError, RecursionError) as exc:
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
    # A fork (gunicorn with preload_app) copies locks in whatever state a thread left them.
    if _jwks is not None:
        _jwks._reset_lock()


os.register_at_fork(after_in_child=_after_fork_in_child)
