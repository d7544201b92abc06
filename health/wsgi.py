"""Answer liveness probes before Django: `GET /health` costs a few microseconds.

Load balancers call /health often, with whatever Host header they like (an IP address that
ALLOWED_HOSTS would refuse): liveness only says the process serves requests, so it needs none
of Django's machinery. Everything else, /health/ready included, goes to Django.
"""

import json

from health.views import HEALTHY

LIVENESS_PATHS = frozenset({"/health", "/health/"})


class LivenessShortcut:
    """WSGI middleware answering GET/HEAD /health itself, as the Django view would."""

    def __init__(self, application) -> None:
        self.application = application
        self.body = json.dumps(HEALTHY).encode()
        self.headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(self.body))),
            ("X-Content-Type-Options", "nosniff"),
            ("Cache-Control", "no-store"),
        ]

    def __call__(self, environ: dict, start_response):
        if environ.get("PATH_INFO") in LIVENESS_PATHS and environ.get("REQUEST_METHOD") in (
            "GET",
            "HEAD",
        ):
            start_response("200 OK", self.headers)
            return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [self.body]
        return self.application(environ, start_response)
