"""Point Django at a FakeSupabase: settings, a fresh Supabase HTTP pool, auth tables in the test DB.

Test modules wrap `wired_fake_supabase` in a fixture of their own (pytest only shares fixtures
through conftests): `with wired_fake_supabase(settings) as fake: yield fake`.
"""

import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.cache import cache
from django.db import connections

from supabase_auth.services import clients
from tests.support.supabase_server import FakeSupabase, auth_table_hooks


@contextmanager
def wired_fake_supabase(
    settings, *, auth_tables: bool = True, timeout: float = 1.0, **options
) -> Iterator[FakeSupabase]:
    """Yield a started FakeSupabase that the project under test calls, then undo the wiring.

    auth_tables: the fake's sign-ups and sessions become `auth.users` / `auth.sessions` rows
      in the test's own transaction (the connection is shared with the fake's request threads,
      one statement at a time), as Supabase's own tables would hold them.
    timeout: SUPABASE_HTTP_TIMEOUT; the process-wide pool is rebuilt so it takes effect.
    options: FakeSupabase settings (confirm_email=False, ...).
    """
    conn = connections["default"]
    hooks = {}
    failed_writes: list[str] = []
    if auth_tables:
        conn.inc_thread_sharing()
        lock = threading.Lock()

        def execute(sql: str, params: list) -> None:
            try:
                with lock, conn.cursor() as cursor:
                    cursor.execute(sql, params)
            except Exception:
                # The fake answers "Database error ..." as Supabase would, and the API maps that
                # to a 503: a broken wiring must fail the test, not pass as an outage.
                failed_writes.append(traceback.format_exc())
                raise

        hooks = auth_table_hooks(execute)
    fake = FakeSupabase(jwt_secret=settings.SUPABASE_JWT_SECRET, **hooks, **options).start()
    settings.SUPABASE_URL = fake.url
    settings.SUPABASE_ANON_KEY = fake.anon_key
    settings.SUPABASE_SERVICE_ROLE_KEY = fake.service_role_key
    settings.SUPABASE_JWT_ISSUER = fake.issuer
    settings.SUPABASE_JWKS_URL = ""  # the fake signs with the HS256 secret only
    settings.SUPABASE_HTTP_TIMEOUT = timeout
    saved_pool, clients._pool = clients._pool, None  # the pool reads the timeout once
    cache.clear()  # throttle counters
    try:
        yield fake
    finally:
        fake.close()
        if clients._pool is not None:
            clients._pool.close()
        clients._pool = saved_pool
        cache.clear()
        if auth_tables:
            conn.dec_thread_sharing()
    # Reached only when the test itself passed: then its fake must not have failed either.
    fake.assert_no_crashes()
    assert not failed_writes, f"writing auth tables for the fake failed:\n{failed_writes[0]}"
