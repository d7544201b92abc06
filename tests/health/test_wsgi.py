"""The liveness shortcut in front of Django: same answer as the view, without Django's cost."""

import io
import json

import pytest
from django.core.wsgi import get_wsgi_application

from health.wsgi import LivenessShortcut


@pytest.fixture(scope="module")
def application():
    return LivenessShortcut(get_wsgi_application())


def call(application, method: str, path: str, host: str = "testserver") -> tuple[str, dict, bytes]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": host,
        "SERVER_PORT": "80",
        "HTTP_HOST": host,
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "QUERY_STRING": "",
    }
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, dict(headers)

    body = b"".join(application(environ, start_response))
    return seen["status"], seen["headers"], body


@pytest.mark.parametrize("path", ["/health", "/health/"])
def test_liveness_answers_like_the_view(application, client, path):
    status, headers, body = call(application, "GET", path)

    assert status == "200 OK"
    assert json.loads(body) == client.get(path).json() == {"status": "healthy"}
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(body))


def test_liveness_ignores_the_host_header(application):
    # Load balancers probe by IP address, which ALLOWED_HOSTS does not list.
    status, _, _ = call(application, "GET", "/health", host="10.1.2.3")

    assert status == "200 OK"


def test_head_has_no_body(application):
    status, _, body = call(application, "HEAD", "/health")

    assert (status, body) == ("200 OK", b"")


def test_other_methods_reach_django(application):
    status, _, _ = call(application, "POST", "/health")

    assert status.startswith("405")


@pytest.mark.django_db(transaction=True)  # the real handler closes a test-transaction connection
def test_readiness_reaches_django(application):
    status, _, body = call(application, "GET", "/health/ready")

    assert status == "200 OK"
    assert json.loads(body)["status"] == "ready"
