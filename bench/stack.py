"""The pieces the benchmarks share: a Postgres of their own, seeded data, gunicorn, wrk, tokens."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import jwt
import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "wrk"
DATA_DIR = ROOT / ".local" / "bench-postgres"
SECRET_KEY = "bench-django-secret-" + "f3Kq9Zr2Lw7Yt5Vm" * 3
BENCH_USER = uuid.UUID("00000000-0000-4000-8000-0000000000be")
BENCH_SESSION = uuid.UUID("00000000-0000-4000-8000-00000000be55")  # the bench user's sign-in

SEED_SQL = """
insert into auth.users (id, aud, role, email, created_at, updated_at)
select md5('author-' || a)::uuid, 'authenticated', 'authenticated',
       'author' || a || '@bench.example', now(), now()
from generate_series(1, %(authors)s) as a;
insert into profiles (id, email, name, created_at, updated_at)
select id, email, 'Author ' || split_part(email, '@', 1), now(), now() from auth.users;
insert into posts (id, author_id, title, content, published, created_at, updated_at)
select md5('post-' || i)::uuid,
       md5('author-' || (1 + i %% %(authors)s))::uuid,
       'Post number ' || i,
       repeat('Lorem ipsum dolor sit amet. ', 1 + i %% 20),
       i %% 10 <> 0,
       timestamptz '2026-01-01 00:00:00+00' - make_interval(secs => i),
       timestamptz '2026-01-01 00:00:00+00' - make_interval(secs => i)
from generate_series(1, %(posts)s) as i;
insert into auth.users (id, aud, role, email, created_at, updated_at)
values (%(bench_user)s, 'authenticated', 'authenticated', 'bench@bench.example', now(), now());
insert into profiles (id, email, name, created_at, updated_at)
values (%(bench_user)s, 'bench@bench.example', 'Bench', now(), now());
insert into posts (id, author_id, title, content, published, created_at, updated_at)
select md5('bench-post-' || i)::uuid, %(bench_user)s, 'My post ' || i, 'Mine.', true,
       timestamptz '2026-06-01 00:00:00+00' - make_interval(secs => i),
       timestamptz '2026-06-01 00:00:00+00' - make_interval(secs => i)
from generate_series(1, 20) as i;
analyze;
"""


def log(message: str) -> None:
    """Report progress on stderr (stdout carries the table)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def django_env(database_url: str, supabase_url: str, extra: dict | None = None) -> dict:
    """Production settings, as a deployment would set them."""
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV_FILE": os.devnull,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": database_url,
        "SUPABASE_URL": supabase_url,
        "DJANGO_LOG_LEVEL": "WARNING",
        "GUNICORN_ACCESS_LOG": "",
    }
    return env | (extra or {})


def manage(env: dict, *args: str) -> None:
    """Run a management command with env, failing loudly."""
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def prepare_database(server_url: str, name: str, posts: int, authors: int, env: dict) -> str:
    """Create (or reuse, when already seeded) a database with `posts` posts; return its URL."""
    url = server_url.replace("/postgres?", f"/{name}?")
    with psycopg.connect(server_url, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'create database "{name}"')
    env = env | {"DATABASE_URL": url}
    manage(env, "supabase_local_init")
    manage(env, "migrate", "--noinput", "-v0")
    # Client-side binding: the seed is several statements in one execute().
    with psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        count = conn.execute("select count(*) from posts").fetchone()[0]
        if count != posts + 20:
            log(f"seeding {name}: {posts:,} posts by {authors:,} authors")
            started = time.monotonic()
            conn.execute("truncate posts, profiles cascade; delete from auth.users")
            conn.execute(SEED_SQL, {"posts": posts, "authors": authors, "bench_user": BENCH_USER})
            log(f"seeded {name} in {time.monotonic() - started:.0f} s")
        # The bench user's sign-in session, which its tokens name (SUPABASE_AUTH_CHECK_SESSION).
        conn.execute(
            "insert into auth.sessions (id, user_id, created_at, updated_at) "
            "values (%s, %s, now(), now()) on conflict (id) do nothing",
            [BENCH_SESSION, BENCH_USER],
        )
        conn.execute("vacuum analyze posts")
        conn.execute("checkpoint")  # the seed's dirty pages are not flushed during a scenario
    return url


@contextmanager
def gunicorn(env: dict, port: int):
    """Run the Procfile's web process; yield the base URL and the master's pid."""
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "-c",
        "config/gunicorn.py",
        "config.wsgi",
    ]
    # gunicorn's log goes to a file: a pipe nobody reads fills up and blocks the server.
    log_path = DATA_DIR.parent / f"bench-gunicorn-{port}.log"
    with log_path.open("w") as log_file:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env | {"PORT": str(port), "HOST": "127.0.0.1"},
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start:\n" + log_path.read_text()[-5000:])
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
        log_path.unlink(missing_ok=True)


def worker_rss_mb(master_pid: int) -> float:
    """Return the largest resident set of gunicorn's workers, in MB."""
    children = psutil.Process(master_pid).children()
    return round(max((c.memory_info().rss for c in children), default=0) / 2**20, 1)


def wrk(url: str, *, script: Path | None, token: str | None, duration: int) -> dict:
    """Run wrk 2 threads × 32 connections; return req/s, latency percentiles, errors."""
    command = ["wrk", "-t2", "-c32", f"-d{duration}s", "--latency", "--timeout", "5s"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> dict:
    """Return requests, req/s, p50/p99 (ms), non-2xx and socket errors from wrk's report."""

    def number(pattern: str, default: float = 0.0) -> float:
        match = re.search(pattern, output)
        return float(match.group(1)) if match else default

    def latency_ms(percent: str) -> float:
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)

    errors = output.split("Socket errors:")[-1] if "Socket errors:" in output else ""
    return {
        "requests": int(number(r"(\d+) requests in")),
        "rps": round(number(r"Requests/sec:\s+([\d.]+)"), 1),
        "p50_ms": latency_ms("50"),
        "p99_ms": latency_ms("99"),
        "non_2xx": int(number(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": sum(
            int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", errors)
        ),
    }


def user_token(signing_key, supabase_url: str, ttl: int = 7200) -> str:
    """Return an ES256 access token for the bench user, as Supabase Auth would sign it."""
    now = int(time.time())
    claims = {
        "iss": f"{supabase_url}/auth/v1",
        "aud": "authenticated",
        "sub": str(BENCH_USER),
        "exp": now + ttl,
        "iat": now,
        "email": "bench@bench.example",
        "phone": "",
        "role": "authenticated",
        "aal": "aal1",
        "session_id": str(BENCH_SESSION),  # a live session: the API checks auth.sessions
        "is_anonymous": False,
        "app_metadata": {"provider": "email"},
        "user_metadata": {},
    }
    return jwt.encode(
        claims, signing_key.private_key, algorithm="ES256", headers={"kid": signing_key.kid}
    )
