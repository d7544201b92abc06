"""The Procfile's web process: gunicorn with production settings, static files via whitenoise."""

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.subprocess_django import PRODUCTION_ENV, PROJECT_DIR, run_django


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - local http URL
        return response.status, response.read()


@pytest.fixture(scope="module")
def gunicorn_url(tmp_path_factory):
    static_root = tmp_path_factory.mktemp("static")
    port = free_port()
    env = PRODUCTION_ENV | {
        "DJANGO_STATIC_ROOT": str(static_root),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
    }
    collected = run_django(env, "manage.py", "collectstatic", "--noinput")
    assert collected.returncode == 0, collected.stderr
    gunicorn = Path(sys.executable).with_name("gunicorn")
    procfile_web = (PROJECT_DIR / "Procfile").read_text().split("web:")[1].splitlines()[0].split()
    assert procfile_web[0] == "gunicorn"
    process = subprocess.Popen(
        [str(gunicorn), *procfile_web[1:]],
        cwd=PROJECT_DIR,
        env=env | {"PATH": str(gunicorn.parent), "DJANGO_ENV_FILE": "/dev/null"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            get(url + "/health")
            break
        except OSError:
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=30)


def test_gunicorn_serves_health(gunicorn_url):
    assert get(gunicorn_url + "/health") == (200, b'{"status": "healthy"}')


def test_gunicorn_serves_hashed_admin_static_files(gunicorn_url):
    status, page = get(gunicorn_url + "/admin/login/")
    stylesheet = re.search(rb'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)

    assert status == 200
    assert stylesheet, "the admin links its stylesheet by content hash (manifest storage)"
    status, css = get(gunicorn_url + stylesheet.group(1).decode())
    assert status == 200
    assert b"body" in css
