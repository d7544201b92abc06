"""Health endpoints: liveness, readiness with the database up and down."""

import json
import socket

import pytest

from tests.subprocess_django import PRODUCTION_ENV, run_python


@pytest.mark.parametrize("path", ["/health", "/health/"])
def test_health_answers_without_redirect(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.json() == {"status": "healthy"}


@pytest.mark.parametrize("path", ["/health/ready", "/health/ready/"])
def test_ready_checks_the_database(client, db, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok"}}


def test_health_refuses_writes(client):
    response = client.post("/health")

    assert response.status_code == 405


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_ready_is_503_when_the_database_is_down():
    env = PRODUCTION_ENV | {"DATABASE_URL": f"postgres://app:pw@127.0.0.1:{unused_port()}/app"}
    code = (
        "import json; from django.test import Client; c = Client();"
        "r = c.get('/health/ready'); h = c.get('/health');"
        "print(json.dumps([r.status_code, r.json(), h.status_code]))"
    )

    result = run_python(env, code)

    assert result.returncode == 0, result.stderr
    ready_status, ready_body, health_status = json.loads(result.stdout.strip().splitlines()[-1])
    assert ready_status == 503
    assert ready_body == {"status": "unavailable", "checks": {"database": "unavailable"}}
    # Liveness does not depend on the database, and health checks are exempt from HTTPS redirects.
    assert health_status == 200
