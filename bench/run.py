"""`make bench`: the API under gunicorn with production settings, driven by wrk.

Starts its own embedded Postgres (.local/bench-postgres), prepares it like Supabase, seeds two
deterministic databases (small: 1,000 posts; large: 1,000,000), mints ES256 tokens served by a
local JWKS, checks every scenario answers correctly once, then runs wrk (2 threads, 32
connections, 10 s) on each scenario and prints req/s, p50, p99, errors, database queries per
request and worker RSS. Results go to bench/results/. Every process it starts is stopped.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import jwt
import psutil
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from supabase_bridge import local_database  # noqa: E402
from tests.support.jwks_server import JWKSServer, SigningKey  # noqa: E402

RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "wrk"
DATA_DIR = ROOT / ".local" / "bench-postgres"
SECRET_KEY = "bench-django-secret-" + "f3Kq9Zr2Lw7Yt5Vm" * 3
BENCH_USER = uuid.UUID("00000000-0000-4000-8000-0000000000be")

# The reference design's figures (issue 6): FastAPI + SQLModel, get_user() per request.
REFERENCE = {
    "health": (11_000, 6),
    "post": (1_500, 1_900),
    "list": (1_150, 1_500),
    "me": (48, 1_700),
    "create": (48, 2_100),
}

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
        conn.execute("vacuum analyze posts")
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
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env | {"PORT": str(port), "HOST": "127.0.0.1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
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
                raise RuntimeError("gunicorn did not start:\n" + process.stderr.read())
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


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

    def number(pattern: str, default: float = 0.0) -> float:
        match = re.search(pattern, output)
        return float(match.group(1)) if match else default

    def latency_ms(percent: str) -> float:
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)

    requests = int(number(r"(\d+) requests in"))
    non_2xx = int(number(r"Non-2xx or 3xx responses: (\d+)"))
    socket_errors = (
        sum(
            int(n)
            for n in re.findall(
                r"(?:connect|read|write|timeout) (\d+)", output.split("Socket errors:")[-1]
            )
        )
        if "Socket errors:" in output
        else 0
    )
    return {
        "requests": requests,
        "rps": round(number(r"Requests/sec:\s+([\d.]+)"), 1),
        "p50_ms": latency_ms("50"),
        "p99_ms": latency_ms("99"),
        "non_2xx": non_2xx,
        "socket_errors": socket_errors,
    }


def queries_per_request(env: dict, requests: list) -> dict:
    """Count SQL statements per scenario, through the full stack, in a separate process."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "count_queries.py")],
        cwd=ROOT,
        env=env | {"DJANGO_ALLOWED_HOSTS": "testserver"},
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"counting queries failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)


def check_once(base: str, scenarios: dict, token: str) -> None:
    """Fail before measuring if any scenario does not answer correctly."""
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=10) as client:
        assert client.get("/health").json() == {"status": "healthy"}
        listing = client.get("/api/posts/").json()
        assert len(listing["results"]) == 20, "list: 20 rows"
        assert listing["next"], "list: a next link"
        post = client.get(scenarios["post"]["path"]).json()
        assert post["published"] is True, "post: a published post"
        mine = client.get("/api/posts/me", headers=auth).json()
        assert len(mine["results"]) == 20, "me: the bench user's 20 posts"
        assert all(p["author_id"] == str(BENCH_USER) for p in mine["results"])
        created = client.post("/api/posts/", json={"title": "check"}, headers=auth)
        assert created.status_code == 201, created.text
        patched = client.patch(scenarios["patch"]["path"], json={"title": "Patched"}, headers=auth)
        assert patched.status_code == 200, patched.text


def main() -> None:
    """Prepare, check, measure, report, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per scenario")
    parser.add_argument("--large-posts", type=int, default=1_000_000)
    parser.add_argument("--small-posts", type=int, default=1_000)
    parser.add_argument("--skip-large", action="store_true")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit(
            "wrk not found: install it (Debian/Ubuntu: apt-get install wrk; macOS: brew "
            "install wrk) and run `make bench` again."
        )

    with ExitStack() as stack:
        jwks = JWKSServer()
        stack.callback(jwks.close)
        signing_key = SigningKey("ES256", "bench-es256")
        jwks.publish(signing_key)
        supabase_url = (
            jwks.base_url
        )  # JWKS at {url}/auth/v1/.well-known/jwks.json, issuer {url}/auth/v1

        server_url = local_database.ensure_running(DATA_DIR)
        stack.callback(local_database.stop, DATA_DIR)
        env = django_env(server_url, supabase_url)
        small = prepare_database(server_url, "bench_small", args.small_posts, 50, env)
        large = None
        if not args.skip_large:
            large = prepare_database(server_url, "bench_large", args.large_posts, 1_000, env)

        now = int(time.time())
        token = jwt.encode(
            {
                "iss": f"{supabase_url}/auth/v1",
                "aud": "authenticated",
                "sub": str(BENCH_USER),
                "exp": now + 3600,
                "iat": now,
                "email": "bench@bench.example",
                "phone": "",
                "role": "authenticated",
                "aal": "aal1",
                "session_id": str(uuid.uuid4()),
                "is_anonymous": False,
                "app_metadata": {"provider": "email"},
                "user_metadata": {},
            },
            signing_key.private_key,
            algorithm="ES256",
            headers={"kid": signing_key.kid},
        )
        with psycopg.connect(small) as conn:
            published = conn.execute(
                "select id from posts where published and author_id <> %s "
                "order by created_at desc limit 1",
                [BENCH_USER],
            ).fetchone()[0]
            own = conn.execute(
                "select id from posts where author_id = %s order by created_at desc limit 1",
                [BENCH_USER],
            ).fetchone()[0]
        scenarios = {
            "health": {"path": "/health"},
            "post": {"path": f"/api/posts/{published}"},
            "list": {"path": "/api/posts/"},
            "me": {"path": "/api/posts/me", "auth": True},
            "create": {"path": "/api/posts/", "auth": True, "script": LUA / "create.lua"},
            "patch": {"path": f"/api/posts/{own}", "auth": True, "script": LUA / "patch.lua"},
        }
        counts = queries_per_request(
            env | {"DATABASE_URL": small},
            [
                {
                    "name": name,
                    "path": s["path"],
                    "method": {"create": "post", "patch": "patch"}.get(name, "get"),
                    "token": token if s.get("auth") else None,
                    "body": {"title": "Counted"} if name in ("create", "patch") else None,
                }
                for name, s in scenarios.items()
            ],
        )

        results = {"scenarios": {}, "settings": {}}
        port = free_port()
        with gunicorn(env | {"DATABASE_URL": small}, port) as (base, master):
            check_once(base, scenarios, token)
            for name, scenario in scenarios.items():
                log(f"wrk {name} {scenario['path']}")
                result = wrk(
                    base + scenario["path"],
                    script=scenario.get("script"),
                    token=token if scenario.get("auth") else None,
                    duration=args.duration,
                )
                result["queries"] = counts.get(name)
                result["worker_rss_mb"] = worker_rss_mb(master)
                results["scenarios"][name] = result
        if large:
            with gunicorn(env | {"DATABASE_URL": large}, free_port()) as (base, master):
                httpx.get(base + "/api/posts/", timeout=10).raise_for_status()
                log("wrk list on 1,000,000 posts")
                result = wrk(base + "/api/posts/", script=None, token=None, duration=args.duration)
                result["queries"] = counts.get("list")
                result["worker_rss_mb"] = worker_rss_mb(master)
                results["scenarios"]["list_large"] = result

    results["machine"] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "load_generator": "wrk -t2 -c32 --latency, same machine",
    }
    results["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    results["command"] = "make bench"
    report(results)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for path in (RESULTS / f"bench-{stamp}.json", RESULTS / "latest.json"):
        path.write_text(json.dumps(results, indent=2) + "\n")
    log(f"results: bench/results/bench-{stamp}.json")


def report(results: dict) -> None:
    """Print the results table (and the large/small latency ratio) on stdout."""
    rows = results["scenarios"]
    print(
        f"{'scenario':<12}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'queries':>9}"
        f"{'RSS MB':>8}   reference"
    )
    for name, r in rows.items():
        ref = REFERENCE.get(name.removesuffix("_large"))
        errors = r["non_2xx"] + r["socket_errors"]
        ref_text = f"{ref[0]:,} req/s, p99 {ref[1]:,} ms" if ref else ""
        print(
            f"{name:<12}{r['rps']:>9,.0f}{r['p50_ms']:>9}{r['p99_ms']:>9}{errors:>8}"
            f"{r['queries']!s:>9}{r['worker_rss_mb']:>8}   {ref_text}"
        )
    if "list_large" in rows and "list" in rows:
        ratio = rows["list_large"]["p50_ms"] / rows["list"]["p50_ms"]
        results["large_to_small_p50"] = round(ratio, 2)
        print(f"list p50 on 1,000,000 posts / on 1,000 posts: {ratio:.2f}×")


if __name__ == "__main__":
    main()
