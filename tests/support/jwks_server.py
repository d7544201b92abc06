"""A real loopback HTTP server playing Supabase's JWKS endpoint, with outages on demand."""

import json
import sys
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

JWKS_PATH = "/auth/v1/.well-known/jwks.json"


class SigningKey:
    """A private key generated for the tests, published in the JWKS under kid."""

    def __init__(self, algorithm: str, kid: str) -> None:
        self.algorithm = algorithm
        self.kid = kid
        if algorithm == "ES256":
            self.private_key = ec.generate_private_key(ec.SECP256R1())
            jwk = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        else:
            self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            jwk = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        self.public_jwk = jwk | {"kid": kid, "alg": algorithm, "use": "sig", "key_ops": ["verify"]}


class JWKSServer:
    """Serve {"keys": [...]} at JWKS_PATH; count requests; fail or stall when told to."""

    def __init__(self) -> None:
        self.keys: list[dict] = []
        self.requests = 0
        self.last_headers: Mapping[str, str] = {}  # the latest request's (case-insensitive)
        self.status = 200
        self.delay = 0.0
        self.body: bytes | None = None  # raw body override (garbage responses)
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                server.last_headers = self.headers
                if server.delay:
                    time.sleep(server.delay)
                if self.path != JWKS_PATH:
                    self.send_error(404)
                    return
                body = (
                    server.body
                    if server.body is not None
                    else json.dumps({"keys": server.keys}).encode()
                )
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "public, max-age=600")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self.url = self.base_url + JWKS_PATH
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def ignore_disconnects(self) -> None:
        """Stop reporting clients that hung up on a slow answer (outage tests cause them)."""
        report_error = self._httpd.handle_error

        def handle_error(request, client_address) -> None:
            if not isinstance(sys.exc_info()[1], ConnectionError):
                report_error(request, client_address)

        self._httpd.handle_error = handle_error

    def publish(self, *keys: SigningKey) -> None:
        self.keys = [key.public_jwk for key in keys]

    def reset(self) -> None:
        self.keys, self.requests, self.status, self.delay, self.body = [], 0, 200, 0.0, None
        self.last_headers = {}

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
