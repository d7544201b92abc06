"""Django's debug page, served by the development server, never shows the database password."""

import os
import socket
import subprocess
import sys
import tempfile

import httpx
import pytest

from tests.subprocess_django import PROJECT_DIR

PASSWORD = "hunter2-database-password"
MASKED = "********************"
# runserver's own server (django.core.servers.basehttp), which also puts the process
# environment into request.META as wsgiref does.
DEV_SERVER = """
import django
django.setup()
from django.core.servers.basehttp import get_internal_wsgi_application, run
run("127.0.0.1", 0, get_internal_wsgi_application(), on_bind=lambda p: print(p, flush=True))
"""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def dev_server():
    """`DJANGO_DEBUG=true` and a DATABASE_URL with a password, for a database that is down."""
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV_FILE": os.devnull,
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"postgres://app:{PASSWORD}@127.0.0.1:{closed_port()}/app",
    }
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", DEV_SERVER],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            port = process.stdout.readline().strip()
            log.seek(0)
            assert port, f"the server did not start:\n{log.read()}"
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def test_debug_page_of_a_database_error_shows_no_password(dev_server):
    # A session cookie makes the admin read django_session: the database error's debug page.
    response = httpx.get(
        dev_server + "/admin/", cookies={"sessionid": "s" * 32}, timeout=30, follow_redirects=False
    )

    assert response.status_code == 500
    assert "OperationalError" in response.text  # Django's debug page for the failed connection
    assert PASSWORD not in response.text
    # Still useful: where the database is, with the password masked (settings and environment).
    assert response.text.count(f"postgres://app:{MASKED}@127.0.0.1") >= 2
