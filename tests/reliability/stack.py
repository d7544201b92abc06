"""A production-like stack: a dedicated embedded Postgres and the Procfile's gunicorn on it.

Shared by the reliability tests (which break it on purpose) and `make bench` (which loads it).
"""

import json
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import psycopg

from supabase_auth import dev_tokens
from supabase_auth.local import embedded
from tests.subprocess_django import PRODUCTION_ENV, PROJECT_DIR, run_django

ARTIFACTS_DIR = PROJECT_DIR / "test-artifacts" / "reliability"
START_TIMEOUT = 60.0  # seconds for gunicorn to import Django, run the checks and answer /health


ROOT = PROJECT_DIR


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(database_url: str, **overrides: str) -> dict[str, str]:
    """Return a production environment on database_url, served over plain HTTP on loopback."""
    return (
        PRODUCTION_ENV
        | {
            "DATABASE_URL": database_url,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "SUPABASE_JWKS_URL": "",  # HS256 only, unless a test serves a JWKS
        }
        | overrides
    )


@dataclass(frozen=True)
class Database:
    """A dedicated embedded Postgres with Supabase's auth schema and the project's migrations."""

    data_dir: Path
    url: str

    def stop(self) -> None:
        assert embedded.stop(self.data_dir), "the database was not running"

    def start(self) -> None:
        url = embedded.ensure_running(self.data_dir, disposable=True)
        assert url == self.url, "a restarted server must listen where the API connects"

    def execute(self, sql: str, params: object = None) -> list[tuple]:
        with psycopg.connect(self.url, autocommit=True) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def create_auth_user(self, email: str) -> uuid.UUID:
        """Insert an `auth.users` row, as Supabase Auth does at sign-up; return its id.

        The user is also signed in: an `auth.sessions` row under the user's own id, which
        hs256_token names, so its tokens pass the session check (SUPABASE_AUTH_CHECK_SESSION).
        """
        user_id = uuid.uuid4()
        self.execute("insert into auth.users (id, email) values (%s, %s)", [user_id, email])
        self.execute(
            "insert into auth.sessions (id, user_id, created_at, updated_at) "
            "values (%s, %s, now(), now())",
            [user_id, user_id],
        )
        return user_id


def run_manage(env: dict[str, str], *args: str) -> None:
    """Run a management command in a fresh process with env; fail with its output."""
    result = run_django(env, "manage.py", *args)
    assert result.returncode == 0, f"manage.py {' '.join(args)}: {result.stderr}"


def start_database(data_dir: Path) -> Database:
    """Start a throw-away server in data_dir, shape it like Supabase's and migrate it."""
    database = Database(data_dir, embedded.ensure_running(data_dir, disposable=True))
    env = production_env(database.url)
    run_manage(env, "supabase_local_init")
    run_manage(env, "migrate", "--noinput")
    return database


def hs256_token(env: dict[str, str], user_id: uuid.UUID, email: str) -> str:
    """Return an access token that the server started with env accepts (create_auth_user's)."""
    claims = dev_tokens.user_claims(
        user_id, email, session_id=user_id, ttl=3600, iss=f"{env['SUPABASE_URL']}/auth/v1"
    )
    return dev_tokens.sign_hs256(claims, env["SUPABASE_JWT_SECRET"])


class Server:
    """A server process (a master and its workers), its output in a log file, up on /health."""

    name = "server"

    def __init__(
        self, command: list[str], env: dict[str, str], log_path: Path, *, port: int, workers: int
    ) -> None:
        self.command = command
        self.env = env
        self.log_path = log_path
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workers = workers
        self.cwd = PROJECT_DIR
        self.process: subprocess.Popen | None = None

    def start(self) -> "Server":
        """Start the process and wait until /health answers and every worker runs."""
        # Output goes to a file: a pipe nobody reads fills up and blocks the server.
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.process.poll() is None, f"{self.name} exited:\n{self.log()}"
            assert time.monotonic() < deadline, f"{self.name} did not answer:\n{self.log()}"
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        while len(self.worker_pids()) < self.workers:
            assert time.monotonic() < deadline, f"workers did not start:\n{self.log()}"
            time.sleep(0.1)
        return self

    @property
    def master_pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def worker_pids(self) -> set[int]:
        return {child.pid for child in psutil.Process(self.master_pid).children()}

    def worker_rss_mb(self) -> float:
        """Return the largest resident set of the workers, in MB."""
        children = psutil.Process(self.master_pid).children()
        return round(max((c.memory_info().rss for c in children), default=0) / 2**20, 1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), killing the process if it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


class Gunicorn(Server):
    """The Procfile's web process (gunicorn with config/gunicorn.py), on a free port."""

    name = "gunicorn"

    def __init__(self, env: dict[str, str], log_path: Path, *, workers: int = 2) -> None:
        port = free_port()
        gunicorn = Path(sys.executable).with_name("gunicorn")
        env = env | {
            "PORT": str(port),
            "HOST": "127.0.0.1",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_ACCESS_LOG": "",  # thousands of requests: only errors are of interest
            # No recycling after N requests: a new worker PID must mean a crash or a restart.
            "GUNICORN_MAX_REQUESTS": "0",
            "PATH": str(gunicorn.parent),
            "DJANGO_ENV_FILE": "/dev/null",
        }
        program, *arguments = procfile_web()
        assert program == "gunicorn", "the Procfile's web process is gunicorn"
        super().__init__([str(gunicorn), *arguments], env, log_path, port=port, workers=workers)


def procfile_web() -> list[str]:
    """Return the Procfile's web command, split into words."""
    for line in (PROJECT_DIR / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.removeprefix("web:").split()
    raise AssertionError("the Procfile has no web process")


def write_artifact(name: str, report: dict) -> Path:
    """Write report as test-artifacts/reliability/<name>.json and print it; return the path."""
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS_DIR / f"{name}.json"
    text = json.dumps(report, indent=2, sort_keys=True)
    path.write_text(text + "\n")
    print(f"\n{name}: {text}")  # the figures belong in the test output (run with -s)
    return path
