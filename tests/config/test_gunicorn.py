"""The Procfile's web process: production settings, whitenoise static files, a socket per worker."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from tests.reliability.stack import Gunicorn
from tests.subprocess_django import PRODUCTION_ENV, PROJECT_DIR, run_django

SERVER_ENV = PRODUCTION_ENV | {
    "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
    "DJANGO_SECURE_SSL_REDIRECT": "false",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    static_root = tmp_path_factory.mktemp("static")
    env = SERVER_ENV | {"DJANGO_STATIC_ROOT": str(static_root)}
    collected = run_django(env, "manage.py", "collectstatic", "--noinput")
    assert collected.returncode == 0, collected.stderr
    gunicorn = Gunicorn(env, tmp_path_factory.mktemp("gunicorn") / "gunicorn.log", workers=1)
    with gunicorn:
        yield gunicorn


def test_gunicorn_serves_health(server):
    response = httpx.get(server.url + "/health", timeout=5)

    assert (response.status_code, response.content) == (200, b'{"status": "healthy"}')


def test_gunicorn_serves_hashed_admin_static_files(server):
    page = httpx.get(server.url + "/admin/login/", timeout=5)
    stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.text)

    assert page.status_code == 200
    assert stylesheet, "the admin links its stylesheet by content hash (manifest storage)"
    css = httpx.get(server.url + stylesheet.group(1), timeout=5)
    assert css.status_code == 200
    assert "body" in css.text


def test_gunicorn_runs_the_threaded_worker(server):
    """The default worker class serves requests from threads (docs/performance.md)."""
    assert "Using worker: config.worker.ThreadWorker" in server.log()


@pytest.mark.parametrize("name", ["WEB_CONCURRENCY", "GUNICORN_THREADS"])
def test_zero_workers_or_threads_stops_start_up(name):
    code = "import runpy; runpy.run_path('config/gunicorn.py')"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR,
        env={name: "0"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode != 0
    assert f"{name} must be at least 1" in result.stderr


@pytest.fixture
def two_workers(tmp_path):
    """The Procfile's server with two workers, each listening (with reuse_port, on its own)."""
    # A request still being read keeps its worker draining this long after SIGTERM.
    env = SERVER_ENV | {"SERVER_READ_TIMEOUT": "20"}
    with Gunicorn(env, tmp_path / "gunicorn.log", workers=2) as server:
        wait_for(lambda: len(listening(server)) == 2, "both workers listen")
        yield server


def test_a_burst_of_keep_alive_connections_is_spread_over_the_workers(two_workers):
    # On one shared socket the first worker to wake took most of a burst (32/0, 29/0, 27/5 in
    # make bench), and kept those connections: its 8 threads served 32 clients while the
    # other worker idled. With a socket per worker the kernel spreads them.
    for _ in range(3):
        clients = [socket.create_connection(("127.0.0.1", two_workers.port)) for _ in range(32)]
        try:
            wait_for(lambda: sum(held(two_workers).values()) == 32, "all 32 accepted")
            assert min(held(two_workers).values()) >= 4, held(two_workers)
        finally:
            for client in clients:
                client.close()
        wait_for(lambda: sum(held(two_workers).values()) == 0, "all 32 closed")


def test_a_draining_worker_leaves_new_connections_to_the_others(two_workers):
    # A worker told to stop finishes its requests (up to graceful_timeout); the kernel keeps
    # handing its own socket new connections while that socket is open, and nobody accepts
    # them. It closes the socket when it starts draining.
    slow = socket.create_connection(("127.0.0.1", two_workers.port))
    slow.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
    wait_for(lambda: 1 in held(two_workers).values(), "the slow request accepted")
    draining = next(pid for pid, count in held(two_workers).items() if count == 1)
    try:
        os.kill(draining, signal.SIGTERM)
        # Left open, the socket would take new connections for the whole drain (20 s here).
        wait_for(
            lambda: draining not in listening(two_workers), "the draining worker's socket closed"
        )

        answers = [
            httpx.get(two_workers.url + "/health", headers={"Connection": "close"}, timeout=3)
            for _ in range(20)
        ]

        assert [answer.status_code for answer in answers] == [200] * 20
        assert psutil.pid_exists(draining), "still draining the slow request"
    finally:
        slow.close()


def listening(server) -> set[int]:
    """Return the workers with a socket listening on the server's port."""
    return {
        pid
        for pid, sockets in _worker_sockets(server).items()
        if any(s.status == psutil.CONN_LISTEN for s in sockets)
    }


def held(server) -> dict[int, int]:
    """Return, per worker, how many accepted client connections it holds."""
    return {
        pid: sum(s.status == psutil.CONN_ESTABLISHED for s in sockets)
        for pid, sockets in _worker_sockets(server).items()
    }


def _worker_sockets(server) -> dict[int, list]:
    found = {}
    for pid in server.worker_pids():
        try:
            sockets = psutil.Process(pid).net_connections("tcp")
        except psutil.NoSuchProcess:
            continue
        found[pid] = [s for s in sockets if s.laddr and s.laddr.port == server.port]
    return found


def wait_for(condition, what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)
