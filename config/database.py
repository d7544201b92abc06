"""Django's DATABASES entry from DATABASE_URL (dj-database-url), tuned for Supabase's connections.

Settings read the environment and call `database_config()`; nothing here reads variables or
starts a server. The embedded Postgres (no DATABASE_URL in development) is started by the
database backend on its first connection (supabase_auth/postgres), not when settings load.
"""

from dataclasses import dataclass
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

ENGINE = "supabase_auth.postgres"
POOL_MODES = ("session", "transaction")
# Hosts of Supabase's direct connections and Supavisor poolers (SUPABASE.md §7).
SUPABASE_HOST_SUFFIXES = (".supabase.co", ".supabase.com")
EMBEDDED = "embedded"


@dataclass(frozen=True)
class Tuning:
    """How connections behave; each field is one DATABASE_* setting (docs/settings.md)."""

    pool_mode: str = "session"
    conn_max_age: int = 600
    connect_timeout: int = 5
    statement_timeout: int = 20
    prepared_statements: bool = True


def database_config(url: str, tuning: Tuning, *, embedded_dir: Path | None = None) -> dict:
    """Return the DATABASES entry for a Postgres URL, or for the embedded server when `embedded`."""
    if tuning.pool_mode not in POOL_MODES:
        raise ImproperlyConfigured("DATABASE_POOL_MODE must be 'session' or 'transaction'.")
    if url == EMBEDDED:
        if embedded_dir is None:
            raise ImproperlyConfigured("DATABASE_URL=embedded needs a data directory.")
        config = {"ENGINE": ENGINE, "NAME": "postgres", "USER": "postgres", "OPTIONS": {}}
        config["EMBEDDED_POSTGRES"] = {"DATA_DIR": str(embedded_dir), "DISPOSABLE": False}
    else:
        config = _parse(url)
    return _tuned(config, tuning)


def _parse(url: str) -> dict:
    try:
        config = dj_database_url.parse(url)
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or postgresql:// URL.")
    # Django's backend plus a health check without a round trip (supabase_auth/postgres).
    config["ENGINE"] = ENGINE
    options = config.setdefault("OPTIONS", {})
    if not config["HOST"] and "host" in options:
        config["HOST"] = options.pop("host")  # libpq's ?host=/socket/dir form
    if str(config["HOST"]).endswith(SUPABASE_HOST_SUFFIXES):
        # Supabase accepts plain connections unless "Enforce SSL" is on; never send the
        # password in clear text by default (SUPABASE.md §7).
        options.setdefault("sslmode", "require")
    return config


def _tuned(config: dict, tuning: Tuning) -> dict:
    options = config.setdefault("OPTIONS", {})
    # Fail fast when the database is unreachable instead of hanging a worker.
    options.setdefault("connect_timeout", tuning.connect_timeout)
    # One persistent connection per server thread (not Django's pool: docs/performance.md),
    # checked before each request by polling its socket, without a round trip
    # (supabase_auth/postgres).
    config["CONN_HEALTH_CHECKS"] = True
    config["CONN_MAX_AGE"] = tuning.conn_max_age
    host = str(config.get("HOST") or "")
    if host and not host.startswith("/"):
        # Notice a vanished server (network partition, failover) on idle pooled connections.
        options.setdefault("keepalives", 1)
        options.setdefault("keepalives_idle", 30)
        options.setdefault("keepalives_interval", 10)
        options.setdefault("keepalives_count", 3)
    if tuning.pool_mode == "session":
        # The server ends a statement that runs too long (a lock wait, a runaway query) before
        # gunicorn kills the worker. A transaction pooler shares server sessions, so there it
        # is left to the role's own setting (Supabase: authenticated 8 s, postgres none).
        options.setdefault("options", f"-c statement_timeout={tuning.statement_timeout * 1000}")
        if tuning.prepared_statements:
            # Parameters bound by the server and statements prepared after 5 uses: Postgres
            # stops re-planning the hot queries. Only on a session of our own.
            options["server_side_binding"] = True
            options["prepare_threshold"] = 5
    else:
        # Supavisor/PgBouncer transaction mode: a backend is lent per transaction, so no
        # named server-side cursors and no prepared statements (Django's psycopg default).
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        options["prepare_threshold"] = None
    return config
