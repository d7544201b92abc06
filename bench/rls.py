"""What DATABASE_RLS=enforce costs per request, against the default mode, in the same run.

`python bench/rls.py [--requests 1000] [--rounds 10]` creates a disposable database (the
embedded one, or TEST_DATABASE_URL: point it at a delay proxy to put Postgres "N ms away"),
then sends each scenario's requests through the WSGI application in one process, both modes
in alternating rounds so that noise from other work on the machine falls on both. Prints
per scenario and mode: the median wall and CPU microseconds per request, and the statements
and round trips one request sends (libpq's trace). Not part of `make test`.
"""

import argparse
import io
import json
import os
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection, connections  # noqa: E402

from supabase_auth import dev_tokens  # noqa: E402
from tests.support.wire import traced  # noqa: E402

MODES = ("off", "enforce")
SEEDED_POSTS = 1000


def environ(method: str, path: str, token: str | None, body: dict | None) -> dict:
    """Return a WSGI environ as gunicorn builds it for this request."""
    raw = json.dumps(body).encode() if body is not None else b""
    env = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "localhost",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(raw),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(raw)),
        "CONTENT_TYPE": "application/json",
    }
    if token:
        env["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return env


class App:
    """The project's WSGI application, called as a server calls it."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()

    def send(self, method: str, path: str, token: str | None = None, body=None) -> tuple:
        status = []
        result = self.handler(environ(method, path, token, body), lambda s, h: status.append(s))
        content = b"".join(result)
        result.close()
        code = int(status[0].split()[0])
        if code >= 400:
            sys.exit(f"{method} {path}: HTTP {code} {content[:300]!r}")
        return code, content


def seed() -> dict:
    """Create the bench user (with a live session), its profile, and published posts."""
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    with connection.cursor() as cursor:
        cursor.execute(
            "insert into auth.users (id, email) values (%s, 'bench@example.com')", [user_id]
        )
        cursor.execute(
            "insert into auth.sessions (id, user_id, created_at, updated_at, aal) "
            "values (%s, %s, now(), now(), 'aal1')",
            [session_id, user_id],
        )
    token = dev_tokens.sign_hs256(
        dev_tokens.user_claims(user_id, "bench@example.com", session_id=str(session_id))
    )
    app = App()
    app.send("GET", "/api/profiles/me", token)  # makes the profile
    with connection.cursor() as cursor:
        cursor.execute(
            "insert into posts (author_id, title, content, published, created_at) "
            "select %s, 'Post ' || n, 'Body ' || n, true, now() - n * interval '1 second' "
            "from generate_series(1, %s) as n",
            [user_id, SEEDED_POSTS],
        )
    post = json.loads(
        app.send("POST", "/api/posts/", token, {"title": "Bench", "published": True})[1]
    )
    return {"token": token, "post": post["id"]}


def scenarios(data: dict) -> dict:
    """Return each scenario's request: (method, path, token, body)."""
    token, post = data["token"], data["post"]
    return {
        "one post": ("GET", f"/api/posts/{post}", None, None),
        "list": ("GET", "/api/posts/", None, None),
        "me": ("GET", "/api/posts/me", token, None),
        "create": ("POST", "/api/posts/", token, {"title": "New", "content": "Body"}),
        "PATCH": ("PATCH", f"/api/posts/{post}", token, {"title": "Changed"}),
    }


def measure(app: App, request: tuple, count: int) -> tuple[list[float], list[float]]:
    """Send the request count times; return each one's wall and CPU microseconds."""
    wall, cpu = [], []
    for _ in range(count):
        started, started_cpu = time.perf_counter_ns(), time.process_time_ns()
        app.send(*request)
        wall.append((time.perf_counter_ns() - started) / 1000)
        cpu.append((time.process_time_ns() - started_cpu) / 1000)
    return wall, cpu


def wire(app: App, request: tuple) -> tuple[int, int]:
    """Return the statements and round trips one request sends."""
    with traced(connection) as trace:
        app.send(*request)
    return trace.statements, trace.round_trips


def throughput(request: tuple, threads: int, count: int) -> float:
    """Return requests per second with `threads` threads sending count requests each.

    As a gthread worker serves: threads of one process sharing the GIL, a connection each.
    """

    def work() -> None:
        app = App()
        try:
            for _ in range(count):
                app.send(*request)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return threads * count / (time.perf_counter() - started)


def main() -> None:
    """Measure every scenario in both modes and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="per scenario and mode")
    parser.add_argument("--rounds", type=int, default=10, help="alternations of the modes")
    parser.add_argument("--threads", type=int, default=8, help="for req/s (gunicorn's gthread)")
    args = parser.parse_args()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        app, data = App(), seed()
        rows = {}
        for name, request in scenarios(data).items():
            samples = {mode: ([], [], []) for mode in MODES}
            for mode in MODES:  # warm: compiled queries, prepared statements, token cache
                settings.DATABASE_RLS = mode
                measure(app, request, 20)
            for _ in range(args.rounds):
                for mode in MODES:
                    settings.DATABASE_RLS = mode
                    wall, cpu = measure(app, request, args.requests // args.rounds)
                    samples[mode][0].extend(wall)
                    samples[mode][1].extend(cpu)
                    share = max(1, args.requests // args.rounds // args.threads)
                    samples[mode][2].append(throughput(request, args.threads, share))
            for mode in MODES:
                settings.DATABASE_RLS = mode
                rows[(name, mode)] = (*map(statistics.median, samples[mode]), *wire(app, request))
        report(rows, args.threads)
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def report(rows: dict, threads: int) -> None:
    """Print each scenario's figures in both modes, then enforce against off."""
    print(f"scenario   mode       wall µs   cpu µs  req/s ({threads} threads)  stmts  trips")
    for (name, mode), (wall, cpu, rate, statements, trips) in rows.items():
        figures = f"{wall:>9.0f} {cpu:>8.0f} {rate:>19.0f} {statements:>6} {trips:>6}"
        print(f"{name:<10} {mode:<8} {figures}")
    print()
    for name in dict.fromkeys(name for name, _ in rows):
        off, enforced = rows[(name, "off")], rows[(name, "enforce")]
        print(
            f"{name:<10} enforce against off: wall {enforced[0] / off[0] - 1:+.1%}, "
            f"cpu {enforced[1] / off[1] - 1:+.1%}, req/s {enforced[2] / off[2] - 1:+.1%}"
        )


if __name__ == "__main__":
    main()
