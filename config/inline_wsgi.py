"""Serve a WSGI application from an event loop, one request at a time, in the loop's thread.

Why: gunicorn's sync worker closes the connection after every response and parses HTTP in
Python; its asyncio worker keeps connections alive, parses with a C parser and buffers both
directions. Django stays synchronous: a request runs to completion before the next one starts,
exactly as in a sync worker, so one database connection per process, no threads, and a request
stuck longer than gunicorn's timeout still gets the worker restarted (the heartbeat runs on the
loop). Only waiting for a slow client's bytes happens concurrently.

Bodies are read completely before Django runs (a slow upload cannot hold the process) and
capped: anything larger than `max_body_bytes` is answered 413 without being buffered.
"""

import contextvars
import io
import json
import logging
import sys

logger = logging.getLogger(__name__)

TOO_LARGE = json.dumps({"detail": "Request body too large.", "code": "request_too_large"}).encode()
SERVER_ERROR = json.dumps({"detail": "Internal server error.", "code": "server_error"}).encode()


class ClientDisconnected(Exception):
    """The client went away before its request was complete."""


class InlineWSGI:
    """An ASGI application running `wsgi_application` synchronously for each HTTP request."""

    def __init__(self, wsgi_application, *, max_body_bytes: int) -> None:
        self.wsgi_application = wsgi_application
        self.max_body_bytes = max_body_bytes
        # Every request runs in this one context: thread-critical locals (Django's database
        # connections) live in contextvars when a loop runs, and would otherwise be per request.
        self.context = contextvars.Context()

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        # Other scopes (websocket) are not served: returning closes them.

    async def _http(self, scope: dict, receive, send) -> None:
        try:
            body = await self._read_body(scope, receive)
        except ClientDisconnected:
            return
        if body is None:
            await _respond(send, 413, TOO_LARGE)
            return
        started = {}

        def start_response(status: str, headers: list, exc_info=None) -> None:
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = [
                (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers
            ]

        try:
            content = self.context.run(self._run, wsgi_environ(scope, body), start_response)
        except Exception:
            logger.exception("Unhandled error from the WSGI application")
            await _respond(send, 500, SERVER_ERROR)
            return
        await send({"type": "http.response.start", **started})
        if scope["method"] == "HEAD":  # headers only (RFC 9110 §9.3.2); Django leaves the body
            content = b""
        await send({"type": "http.response.body", "body": content})

    def _run(self, environ: dict, start_response) -> bytes:
        """Call the application and drain its response (closing it ends Django's request)."""
        result = self.wsgi_application(environ, start_response)
        try:
            return b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()

    async def _read_body(self, scope: dict, receive) -> bytes | None:
        """Return the whole body, or None when it is larger than the cap."""
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            return None
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body"):
                return b"".join(chunks)


def wsgi_environ(scope: dict, body: bytes) -> dict:
    """Return the PEP 3333 environ for an ASGI HTTP scope and its complete body."""
    server = scope.get("server") or ("localhost", 80)
    script_name = scope.get("root_path", "").encode().decode("latin-1")
    environ = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": script_name,
        # ASGI's path includes root_path, WSGI's PATH_INFO does not (ASGI spec, WSGI
        # compatibility; asgiref's WsgiToAsgi and Django's ASGIRequest strip it too).
        "PATH_INFO": scope["path"].encode().decode("latin-1").removeprefix(script_name),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1] or 80),
        "SERVER_PROTOCOL": f"HTTP/{scope['http_version']}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if scope.get("client"):
        environ["REMOTE_ADDR"] = scope["client"][0]
    for name, value in scope["headers"]:
        key = name.decode("latin-1").upper().replace("-", "_")
        if key not in ("CONTENT_LENGTH", "CONTENT_TYPE"):
            key = "HTTP_" + key
        text = value.decode("latin-1")
        environ[key] = f"{environ[key]},{text}" if key in environ else text
    if body and "CONTENT_LENGTH" not in environ:  # a chunked body: Django reads CONTENT_LENGTH
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def _content_length(scope: dict) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _respond(send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive, send) -> None:
    """Acknowledge startup and shutdown: the WSGI application prepared itself on import."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
