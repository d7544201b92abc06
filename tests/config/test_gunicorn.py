"""The Procfile's web process: gunicorn with production settings, static files via whitenoise."""

import re
import subprocess
import sys

import httpx
import pytest

from tests.reliability.stack import Gunicorn
from tests.subprocess_django import PRODUCTION_ENV, PROJECT_DIR, run_django


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    static_root = tmp_path_factory.mktemp("static")
    env = PRODUCTION_ENV | {
        "DJANGO_STATIC_ROOT": str(static_root),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
    }
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
