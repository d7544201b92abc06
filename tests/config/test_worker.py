"""The default gunicorn worker end to end: keep-alive, buffered bodies, one DB connection.

One embedded Postgres and one gunicorn with a single worker (config/gunicorn.py, as the
Procfile starts it) serve the whole module; a single worker makes "another client was served
meanwhile" mean the event loop, not a second process.
"""

import http.client
import json
import re
import socket
import time
from pathlib import Path

import httpx
import pytest

from tests.reliability.conftest import database  # noqa: F401 - the module's own Postgres
from tests.reliability.stack import Gunicorn, hs256_token, production_env
from tests.subprocess_django import run_django

APP_NAME = "inline-worker-test"  # application_name of the server's database sessions
EMAIL = "inline@example.com"
PROMPT = 1.0  # seconds: an answer that did not wait for a client's missing bytes
TIMEOUT = 10.0  # seconds any single exchange may take before the test fails


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("static")


@pytest.fixture(scope="module")
def server_env(database, static_root) -> dict[str, str]:  # noqa: F811
    """Production settings on the module's Postgres, with static files collected."""
    env = production_env(
        f"{database.url}&application_name={APP_NAME}", DJANGO_STATIC_ROOT=str(static_root)
    )
    collected = run_django(env, "manage.py", "collectstatic", "--noinput")
    assert collected.returncode == 0, collected.stderr
    return env


@pytest.fixture(scope="module")
def server(server_env, tmp_path_factory):
    """gunicorn with the repo's config and its default (inline WSGI) worker, one process."""
    assert "GUNICORN_WORKER_CLASS" not in server_env
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    gunicorn = Gunicorn(server_env, log_path, workers=1).start()
    yield gunicorn
    gunicorn.stop()


@pytest.fixture(scope="module")
def auth(database, server) -> dict[str, str]:  # noqa: F811
    """Authorization header of a signed-up user."""
    token = hs256_token(server.env, database.create_auth_user(EMAIL), EMAIL)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def post_id(server, auth) -> str:
    """A published post, created with an ordinary Content-Length request."""
    response = httpx.post(
        server.url + "/api/posts/",
        json={"title": "Seen by HEAD", "content": "Some words.", "published": True},
        headers=auth,
        timeout=TIMEOUT,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def connect(server: Gunicorn) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT)


def read_until_closed(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def parse(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Split one raw HTTP/1.1 response into status, lower-cased headers and body bytes."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return int(status_line.split()[1]), {k.lower(): v for k, v in headers.items()}, body


def exchange(server: Gunicorn, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw request bytes on a new connection and return the response read up to EOF."""
    with connect(server) as sock:
        sock.sendall(request)
        return parse(read_until_closed(sock))


def test_keep_alive_serves_several_requests_on_one_connection(server):
    """The sync worker closes after each response; this worker keeps the connection open."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    sockets = []
    try:
        for path in ("/health", "/api/posts/", "/api/posts/?limit=1", "/health/ready"):
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()

            assert response.status == 200, body
            assert response.getheader("Connection", "").lower() != "close"
            assert not response.will_close
            sockets.append((id(connection.sock), connection.sock.getsockname()))
    finally:
        connection.close()

    assert len(set(sockets)) == 1, "every request must reuse the first TCP connection"


@pytest.mark.parametrize("path", ["/api/posts/", "/api/posts/{post_id}"])
def test_head_has_the_get_content_length_and_no_body(server, post_id, path):
    """RFC 9110 §9.3.2: GET's headers, no content; read to EOF, so any stray byte shows."""
    path = path.format(post_id=post_id)
    get = httpx.get(server.url + path, timeout=TIMEOUT)
    assert get.status_code == 200
    assert post_id in get.text

    status, headers, body = exchange(
        server, f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    )

    assert status == 200
    assert headers["content-length"] == get.headers["content-length"] == str(len(get.content))
    assert headers["content-type"] == "application/json"
    assert body == b""


def test_chunked_json_post_creates_the_post(server, database, auth):  # noqa: F811
    """A body without Content-Length (Transfer-Encoding: chunked) still reaches DRF whole."""
    payload = json.dumps({"title": "Sent in chunks", "content": "a" * 3000, "published": True})
    chunks = [payload[i : i + 1000].encode() for i in range(0, len(payload), 1000)]
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    try:
        connection.request(
            "POST",
            "/api/posts/",
            body=iter(chunks),  # an iterator of unknown length: http.client sends it chunked
            headers={**auth, "Content-Type": "application/json"},
        )
        response = connection.getresponse()
        created = json.loads(response.read())
    finally:
        connection.close()

    assert response.status == 201, created
    assert created["title"] == "Sent in chunks"
    assert created["content"] == "a" * 3000
    rows = database.execute(
        "select title, length(content) from posts where id = %s", [created["id"]]
    )
    assert rows == [("Sent in chunks", 3000)]


def test_declared_oversized_body_is_refused_without_waiting_for_it(server):
    """413 as soon as the headers arrive: the server neither buffers nor waits for the body."""
    request = (
        b"POST /api/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000000000\r\n\r\n"
    )

    started = time.monotonic()
    status, headers, body = exchange(server, request)  # no body bytes are ever sent
    elapsed = time.monotonic() - started

    assert status == 413
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"detail": "Request body too large.", "code": "request_too_large"}
    assert elapsed < PROMPT, f"answered after {elapsed:.2f}s"


def test_slow_upload_does_not_hold_up_other_clients(server, auth):
    """With one worker, a client trickling its body must not stop another from being served."""
    payload = json.dumps({"title": "Slow upload", "published": False}).encode()
    head = (
        "POST /api/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Authorization: {auth['Authorization']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode()
    with connect(server) as slow:
        slow.sendall(head + payload[:10])
        time.sleep(0.2)  # let the worker parse the headers and start waiting for the rest

        started = time.monotonic()
        other = httpx.get(server.url + "/api/posts/", timeout=TIMEOUT)
        elapsed = time.monotonic() - started

        slow.sendall(payload[10:])
        status, _, body = parse(read_until_closed(slow))

    assert other.status_code == 200
    assert elapsed < PROMPT, f"the other client waited {elapsed:.2f}s"
    assert status == 201, body
    assert json.loads(body)["title"] == "Slow upload"


def server_sessions(database) -> list[tuple]:  # noqa: F811
    """Return (pid, backend_start) of the server's database sessions."""
    return database.execute(
        "select pid, backend_start from pg_stat_activity"
        " where application_name = %s and backend_type = 'client backend'",
        [APP_NAME],
    )


def test_database_connection_is_reused_across_requests(server, database, auth):  # noqa: F811
    """One worker, one session: each request's queries run on the connection opened before.

    A fresh context per request would lose Django's connection each time (a new session per
    request, the old ones left open until collected).
    """
    assert httpx.get(server.url + "/api/posts/me", headers=auth, timeout=TIMEOUT).is_success
    before = server_sessions(database)

    for _ in range(30):
        with httpx.Client(base_url=server.url, timeout=TIMEOUT) as client:  # a new connection
            assert client.get("/api/posts/me", headers=auth).status_code == 200

    after = server_sessions(database)
    assert len(before) == 1, before
    assert after == before


def test_admin_stylesheet_is_served_complete(server, static_root):
    """Static files (whitenoise) go through the same worker: every byte, declared length."""
    login = httpx.get(server.url + "/admin/login/", timeout=TIMEOUT)
    link = re.search(r'href="/static/(admin/css/base\.[0-9a-f]{12}\.css)"', login.text)
    assert login.status_code == 200
    assert link, "the admin links its stylesheet by content hash (manifest storage)"

    css = httpx.get(
        f"{server.url}/static/{link.group(1)}",
        headers={"Accept-Encoding": "identity"},  # the file itself, not whitenoise's .gz
        timeout=TIMEOUT,
    )

    assert css.status_code == 200
    assert css.content == (static_root / link.group(1)).read_bytes()
    assert css.headers["content-length"] == str(len(css.content))


def test_sync_worker_fallback_still_serves(server_env, auth, tmp_path_factory):
    """GUNICORN_WORKER_CLASS=sync is the documented way back to gunicorn's sync worker."""
    log_path = tmp_path_factory.mktemp("gunicorn-sync") / "gunicorn.log"
    env = server_env | {
        "GUNICORN_WORKER_CLASS": "sync",
        # Its sessions are not the ones test_database_connection_is_reused_across_requests counts.
        "DATABASE_URL": server_env["DATABASE_URL"].replace(APP_NAME, f"{APP_NAME}-sync"),
    }
    sync = Gunicorn(env, log_path, workers=1).start()
    try:
        health = httpx.get(sync.url + "/health", timeout=TIMEOUT)
        posts = httpx.get(sync.url + "/api/posts/me", headers=auth, timeout=TIMEOUT)
    finally:
        sync.stop()

    assert health.status_code == 200
    assert health.json() == {"status": "healthy"}
    assert posts.status_code == 200
    assert "results" in posts.json()
    # The sync worker's signature: it closes the connection after every response.
    assert health.headers["connection"] == "close"
    assert "Using worker: sync" in sync.log()
