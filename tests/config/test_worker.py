"""The Procfile's server over real sockets: keep-alive, threads, bounded reads, sane headers.

gunicorn runs with config/gunicorn.py as the Procfile starts it (whatever worker class that
file picks), on a dedicated embedded Postgres, so these tests guard the server in use.
The main server has one process of two threads, a 2 s read deadline and a 64 KiB body cap,
so "every thread is held" and "the deadline passed" happen quickly.
"""

import http.client
import json
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.reliability.conftest import database  # noqa: F401 - the module's own Postgres
from tests.reliability.stack import Gunicorn, hs256_token, production_env
from tests.subprocess_django import run_django

APP_NAME = "worker-test"  # application_name of the server's database sessions
EMAIL = "worker@example.com"
THREADS = 2
READ_TIMEOUT = 2.0  # SERVER_READ_TIMEOUT of the servers under test
MAX_BODY = 64 * 1024  # SERVER_MAX_BODY_BYTES of the servers under test
PROMPT = 1.0  # seconds: an answer that did not wait for a client's missing bytes
# A cut-off slow client: the deadline, the worker's once-a-second check, a loaded machine.
CUT_OFF_BOUND = READ_TIMEOUT + 6.0
TIMEOUT = 15.0  # seconds any single exchange may take before the test fails


@pytest.fixture(scope="module")
def static_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("static")


@pytest.fixture(scope="module")
def server_env(database, static_root) -> dict[str, str]:  # noqa: F811
    """Production settings on the module's Postgres, with static files collected."""
    env = production_env(
        f"{database.url}&application_name={APP_NAME}",
        DJANGO_STATIC_ROOT=str(static_root),
        GUNICORN_THREADS=str(THREADS),
        SERVER_READ_TIMEOUT=str(READ_TIMEOUT),
        SERVER_MAX_BODY_BYTES=str(MAX_BODY),
    )
    collected = run_django(env, "manage.py", "collectstatic", "--noinput")
    assert collected.returncode == 0, collected.stderr
    return env


def server_for(env: dict[str, str], tmp_path_factory, name: str, **overrides: str) -> Gunicorn:
    """Return one more server (not started); its sessions carry their own application_name."""
    if name != "gunicorn":
        overrides["DATABASE_URL"] = env["DATABASE_URL"].replace(APP_NAME, f"{APP_NAME}-{name}")
    log_path = tmp_path_factory.mktemp(name) / "gunicorn.log"
    return Gunicorn(env | overrides, log_path, workers=1)


@pytest.fixture(scope="module")
def server(server_env, tmp_path_factory):
    """gunicorn with the repo's config and its default worker class, one process."""
    assert "GUNICORN_WORKER_CLASS" not in server_env
    with server_for(server_env, tmp_path_factory, "gunicorn") as gunicorn:
        yield gunicorn


# HTTPS redirects on, so whether Django took a request for HTTPS shows (200, not 301); the
# test client (127.0.0.1) is the trusted proxy of one server and an untrusted peer of the other.
@pytest.fixture(scope="module", params=["127.0.0.1", "192.0.2.10"], ids=["trusted", "untrusted"])
def redirecting(request, server_env, tmp_path_factory):
    env = server_env | {"DJANGO_SECURE_SSL_REDIRECT": "true", "FORWARDED_ALLOW_IPS": request.param}
    trusted = request.param == "127.0.0.1"
    with server_for(env, tmp_path_factory, "trusted" if trusted else "untrusted") as gunicorn:
        yield gunicorn, trusted


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
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines)}
    if headers.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    return int(status_line.split()[1]), headers, body


def dechunk(body: bytes) -> bytes:
    """Return the content of a chunked body (RFC 9112 §7.1)."""
    content = b""
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return content
        content, body = content + body[:size], body[size + 2 :]


def exchange(server: Gunicorn, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw request bytes on a new connection and return the response read up to EOF."""
    with connect(server) as sock:
        sock.sendall(request)
        return parse(read_until_closed(sock))


def get(path: str, *headers: str) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post_head(auth: dict[str, str], length: int) -> bytes:
    return (
        "POST /api/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Authorization: {auth['Authorization']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def titled(database, title: str) -> list[tuple]:  # noqa: F811
    return database.execute("select title from posts where title = %s", [title])


# --- Keep-alive, HEAD, bodies ----------------------------------------------------------------


def test_keep_alive_serves_several_requests_on_one_connection(server):
    """Unlike the sync worker, the connection stays open from one request to the next."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=TIMEOUT)
    sockets = []
    try:
        for path in ("/health", "/api/posts/", "/api/posts/?page_size=1", "/health/ready"):
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
    got = httpx.get(server.url + path, timeout=TIMEOUT)
    assert got.status_code == 200
    assert post_id in got.text

    status, headers, body = exchange(
        server, f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
    )

    assert status == 200
    assert headers["content-length"] == got.headers["content-length"] == str(len(got.content))
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


def test_declared_oversized_body_is_refused_without_waiting_for_it(server, database, auth):  # noqa: F811
    """413 as soon as the headers arrive: the server neither buffers nor waits for the body."""
    started = time.monotonic()
    status, headers, body = exchange(server, post_head(auth, MAX_BODY + 1))  # no body bytes
    elapsed = time.monotonic() - started

    assert status == 413
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"detail": "Request body too large.", "code": "request_too_large"}
    assert elapsed < PROMPT, f"answered after {elapsed:.2f}s"
    assert database.execute("select count(*) from posts where title = 'Too large'") == [(0,)]


def test_chunked_body_past_the_cap_is_refused_and_nothing_is_written(server, database, auth):  # noqa: F811
    """Without a declared length, the server stops buffering at SERVER_MAX_BODY_BYTES: 413."""
    title = "Too large, in chunks"
    payload = json.dumps({"title": title, "content": "x" * (2 * MAX_BODY)}).encode()
    chunks = b"".join(
        f"{len(payload[i : i + 8192]):x}\r\n".encode() + payload[i : i + 8192] + b"\r\n"
        for i in range(0, len(payload), 8192)
    )
    head = (
        "POST /api/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Authorization: {auth['Authorization']}\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    small = {"title": "Small, in chunks", "content": "fits"}

    status, _, body = exchange(server, head + chunks + b"0\r\n\r\n")
    control = httpx.post(server.url + "/api/posts/", json=small, headers=auth, timeout=TIMEOUT)

    assert status == 413
    assert json.loads(body) == {"detail": "Request body too large.", "code": "request_too_large"}
    assert titled(database, title) == []
    assert control.status_code == 201, control.text
    assert titled(database, small["title"]) == [(small["title"],)]


def test_expect_100_continue_is_answered_before_the_body_is_sent(server, database, auth):  # noqa: F811
    """A client that waits for "100 Continue" (curl does) gets it at once, then its 201."""
    title = "Expected to continue"
    payload = json.dumps({"title": title, "published": False}).encode()
    head = post_head(auth, len(payload)).replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n")
    with connect(server) as sock:
        sock.sendall(head)
        sock.settimeout(PROMPT)  # a server waiting for the body first would leave this silent
        interim = sock.recv(1024)
        sock.settimeout(TIMEOUT)
        sock.sendall(payload)
        status, _, body = parse(read_until_closed(sock))

    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert status == 201, body
    assert json.loads(body)["title"] == title
    assert titled(database, title) == [(title,)]


# --- Slow clients: bounded in time, never holding every thread ------------------------------


def test_slow_upload_does_not_hold_up_other_clients(server, database, auth):  # noqa: F811
    """While one client trickles its body, another is served at once; both complete."""
    payload = json.dumps({"title": "Slow upload", "published": False}).encode()
    with connect(server) as slow:
        slow.sendall(post_head(auth, len(payload)) + payload[:10])
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
    assert titled(database, "Slow upload") == [("Slow upload",)]


def trickle(server: Gunicorn, first: bytes, rest: bytes) -> tuple[float, bytes]:
    """Send `first`, then one byte of `rest` every 0.4 s; return (seconds, what came back).

    The client never pauses long enough for a per-read timeout to fire: only a deadline on
    the whole request ends it. Stops when the server closes the connection.
    """
    started = time.monotonic()
    with connect(server) as sock:
        sock.sendall(first)
        for byte in rest:
            try:
                sock.sendall(bytes([byte]))
            except OSError:  # the server cut the connection
                break
            if time.monotonic() - started > CUT_OFF_BOUND + 5:
                break
            time.sleep(0.4)
        sock.settimeout(TIMEOUT)
        try:
            answer = read_until_closed(sock)
        except ConnectionResetError:
            answer = b""
    return time.monotonic() - started, answer


def test_trickled_body_is_cut_off_at_the_read_deadline(server, database, auth):  # noqa: F811
    """A body sent a byte at a time gets 408 after SERVER_READ_TIMEOUT; nothing is written."""
    title = "Trickled for ever"
    payload = json.dumps({"title": title, "content": "z" * 200}).encode()

    elapsed, answer = trickle(server, post_head(auth, len(payload)), payload)

    assert elapsed < CUT_OFF_BOUND, f"held for {elapsed:.1f}s"
    assert elapsed >= READ_TIMEOUT
    status, _, body = parse(answer)
    assert status == 408
    assert json.loads(body) == {
        "detail": "Request not received in time.",
        "code": "request_timeout",
    }
    assert titled(database, title) == []


def test_trickled_headers_are_cut_off_at_the_read_deadline(server):
    """Slowloris: headers a byte at a time end at the deadline too, with a 408."""
    header = ("X-Padding: " + "p" * 200 + "\r\n\r\n").encode()

    elapsed, answer = trickle(server, b"GET /api/posts/ HTTP/1.1\r\nHost: 127.0.0.1\r\n", header)

    assert elapsed < CUT_OFF_BOUND, f"held for {elapsed:.1f}s"
    status, _, body = parse(answer)
    assert status == 408
    assert json.loads(body)["code"] == "request_timeout"


def test_slow_uploads_on_every_thread_free_them_at_the_deadline(server, database, auth):  # noqa: F811
    """Stalled uploads on all threads pin the process only until the deadline, then it serves."""
    stalled = []
    for number in range(THREADS):
        sock = connect(server)
        sock.sendall(post_head(auth, 100) + f'{{"title": "Stalled {number}"'.encode())
        stalled.append(sock)
    try:
        time.sleep(0.3)  # both threads are now waiting for the rest of a body
        started = time.monotonic()
        waiting = httpx.get(server.url + "/api/posts/", timeout=TIMEOUT)
        elapsed = time.monotonic() - started
        answers = [parse(read_until_closed(sock)) for sock in stalled]
    finally:
        for sock in stalled:
            sock.close()

    assert waiting.status_code == 200, waiting.text
    assert elapsed < CUT_OFF_BOUND, f"the waiting client was served after {elapsed:.1f}s"
    assert [status for status, _, _ in answers] == [408] * THREADS
    assert database.execute("select count(*) from posts where title like 'Stalled %'") == [(0,)]


# --- Headers: what reaches Django ------------------------------------------------------------


def test_forwarded_proto_counts_only_from_forwarded_allow_ips(redirecting):
    """X-Forwarded-Proto: https is honoured from the trusted proxy, ignored from anyone else."""
    server, trusted = redirecting

    plain = exchange(server, get("/api/posts/"))
    status, headers, body = exchange(server, get("/api/posts/", "X-Forwarded-Proto: https"))

    assert plain[0] == 301
    assert plain[1]["location"] == "https://127.0.0.1/api/posts/"
    if trusted:
        assert status == 200, body
        assert "results" in json.loads(body)
    else:
        assert status == 301
        assert headers["location"] == "https://127.0.0.1/api/posts/"
        assert body == b""


def test_header_with_underscores_is_dropped(redirecting):
    """X_Forwarded_Proto is not X-Forwarded-Proto: dropped, even from the trusted proxy."""
    server, _ = redirecting

    status, headers, body = exchange(server, get("/api/posts/", "X_Forwarded_Proto: https"))

    assert status == 301
    assert headers["location"] == "https://127.0.0.1/api/posts/"
    assert body == b""


def admin_login(server: Gunicorn, *cookie_headers: str) -> tuple[int, bytes]:
    """POST the admin login form with the CSRF token of a fresh GET, sending these Cookie lines.

    `{csrf}` in a line is replaced by the CSRF cookie's value.
    """
    page = httpx.get(server.url + "/admin/login/", timeout=TIMEOUT)
    cookie = page.cookies["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    form = f"csrfmiddlewaretoken={token}&username=nobody&password=wrong-password".encode()
    lines = [
        "POST /admin/login/ HTTP/1.1",
        "Host: 127.0.0.1",
        "Connection: close",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(form)}",
        *(line.format(csrf=cookie) for line in cookie_headers),
    ]
    status, _, body = exchange(server, ("\r\n".join(lines) + "\r\n\r\n").encode() + form)
    return status, body


def test_repeated_cookie_headers_are_joined_as_django_expects(server, database):  # noqa: F811
    """Two Cookie lines reach Django as one "a=1; csrftoken=..." header: CSRF passes.

    Joined with "," (gunicorn's rule for other headers), the CSRF cookie would be swallowed
    by the cookie before it and the login would be a 403.
    """
    status, body = admin_login(server, "Cookie: theme=dark", "Cookie: csrftoken={csrf}")

    assert status == 200, body[:300]
    assert b"Please enter the correct username and password" in body
    assert database.execute("select count(*) from django_session") == [(0,)]


def test_cookies_joined_with_a_comma_lose_the_csrf_cookie(server):
    """Negative control of the test above: one header joined with "," fails CSRF."""
    status, body = admin_login(server, "Cookie: theme=dark,csrftoken={csrf}")

    assert status == 403
    assert b"CSRF" in body


# --- Database connections, static files ------------------------------------------------------


def server_sessions(database) -> list[tuple]:  # noqa: F811
    """Return the pids of the server's database sessions."""
    return database.execute(
        "select pid from pg_stat_activity"
        " where application_name = %s and backend_type = 'client backend'",
        [APP_NAME],
    )


def test_database_sessions_are_kept_and_bounded_by_threads(server, database, auth):  # noqa: F811
    """Each thread keeps one session across requests; concurrent load never opens more."""

    def call(_: int) -> int:
        with httpx.Client(base_url=server.url, timeout=TIMEOUT) as client:  # a new connection
            return client.get("/api/posts/me", headers=auth).status_code

    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(call, range(40)))
    before = server_sessions(database)
    with ThreadPoolExecutor(8) as pool:
        second = list(pool.map(call, range(40)))
    after = server_sessions(database)

    assert first == second == [200] * 40
    assert 1 <= len(before) <= THREADS, before
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
