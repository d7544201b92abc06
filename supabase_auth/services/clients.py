"""Supabase clients (supabase-py) for one request each, over one shared connection pool.

supabase-py clients are stateful: after a sign-in a client speaks as that user (SUPABASE.md §3).
So every request gets fresh client objects (no stored session, no refresh timer, no PKCE
verifier to lose), while the HTTP connection pool underneath, which holds no credentials, is
shared by the process.
"""

import os
import threading

import httpx
from django.conf import settings
from storage3 import SyncStorageClient

from supabase_auth import SyncGoTrueClient

_pool: httpx.Client | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


class SupabaseNotConfigured(Exception):
    """SUPABASE_URL or SUPABASE_ANON_KEY is missing, so Supabase cannot be called."""


def http_pool() -> httpx.Client:
    """Return this process's pool for Supabase calls, with short, explicit timeouts."""
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():  # never share sockets across a fork
        with _pool_lock:
            if _pool is None or _pool_pid != os.getpid():
                timeout = settings.SUPABASE_HTTP_TIMEOUT
                _pool = httpx.Client(
                    timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
                    follow_redirects=False,
                    limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
                )
                _pool_pid = os.getpid()
    return _pool


def _headers(access_token: str | None) -> dict[str, str]:
    key = settings.SUPABASE_ANON_KEY
    if not settings.SUPABASE_URL or not key:
        raise SupabaseNotConfigured("Set SUPABASE_URL and SUPABASE_ANON_KEY.")
    # The key goes in `apikey`; Authorization carries the user's token when acting for them
    # (so Supabase's own policies apply), else the key itself, as supabase-py does.
    return {"apikey": key, "Authorization": f"Bearer {access_token or key}"}


def auth_client(access_token: str | None = None) -> SyncGoTrueClient:
    """Return a fresh Supabase Auth client: nothing persisted, nothing refreshed behind our back."""
    return SyncGoTrueClient(
        url=f"{settings.SUPABASE_URL}/auth/v1",
        headers=_headers(access_token),
        auto_refresh_token=False,
        persist_session=False,
        flow_type="implicit",  # PKCE needs the verifier kept in the client: we keep nothing
        http_client=http_pool(),
    )


def storage_client(access_token: str) -> SyncStorageClient:
    """Return a fresh Storage client acting as the user whose token this is."""
    return SyncStorageClient(
        f"{settings.SUPABASE_URL}/storage/v1/", _headers(access_token), http_client=http_pool()
    )
