"""InlineWSGI driven directly on an event loop: a small WSGI app, real ASGI callables."""

import asyncio
import contextvars
import json
import logging

from asgiref.local import Local
from django.core.handlers.wsgi import WSGIRequest

from config.inline_wsgi import InlineWSGI, wsgi_environ

CAP = 64  # max_body_bytes of the app under test: small, so limits are cheap to cross


def http_scope(**overrides) -> dict:
    """Return an ASGI HTTP scope for `GET /` as gunicorn builds it, with overrides."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "server": ("127.0.0.1", 8000),
        "client": ("192.0.2.7", 51000),
    }
    return scope | overrides


def body(chunk: bytes, *, more: bool = False) -> dict:
    return {"type": "http.request", "body": chunk, "more_body": more}


class Peer:
    """The server's side of one ASGI call: request messages to hand out, response messages kept.

    receive() past the last scripted message fails the test instead of waiting forever.
    """

    def __init__(self, *messages: dict) -> None:
        self.messages = list(messages)
        self.receive_calls = 0
        self.sent: list[dict] = []

    async def receive(self) -> dict:
        self.receive_calls += 1
        assert self.messages, "receive() called after the last request message"
        return self.messages.pop(0)

    async def send(self, message: dict) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return self.sent[0]["status"]

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.sent[0]["headers"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.sent[1:])


class EchoApp:
    """A WSGI app answering 200 with its request body, keeping every environ it saw."""

    def __init__(self) -> None:
        self.environs: list[dict] = []

    def __call__(self, environ: dict, start_response):
        self.environs.append(environ)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        payload = environ["wsgi.input"].read(length)
        start_response(
            "200 OK",
            [("Content-Type", "text/plain"), ("Content-Length", str(len(payload)))],
        )
        return [payload]


def serve(app, scope: dict, peer: Peer, *, inline: InlineWSGI | None = None) -> InlineWSGI:
    """Run one ASGI call of InlineWSGI(app) on a fresh loop; return the InlineWSGI."""
    inline = inline or InlineWSGI(app, max_body_bytes=CAP)
    asyncio.run(asyncio.wait_for(inline(scope, peer.receive, peer.send), timeout=5))
    return inline


def environ_for(scope: dict, *messages: dict) -> dict:
    """Return the environ the WSGI app receives for scope and these request messages."""
    app = EchoApp()
    serve(app, scope, Peer(*(messages or (body(b""),))))
    assert len(app.environs) == 1
    return app.environs[0]


# The environ


def test_environ_carries_method_path_query_and_addresses():
    environ = environ_for(
        http_scope(
            method="PUT",
            path="/api/posts/1",
            query_string=b"page=2&q=a%20b",
            server=("api.example.com", 8443),
            client=("192.0.2.7", 51000),
            scheme="https",
        )
    )

    assert environ["REQUEST_METHOD"] == "PUT"
    assert environ["PATH_INFO"] == "/api/posts/1"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["QUERY_STRING"] == "page=2&q=a%20b"
    assert environ["SERVER_NAME"] == "api.example.com"
    assert environ["SERVER_PORT"] == "8443"
    assert environ["REMOTE_ADDR"] == "192.0.2.7"
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"


def test_environ_path_is_the_decoded_path_as_a_latin1_wsgi_string():
    """PEP 3333: PATH_INFO holds the URL's bytes, UTF-8 here, each byte as one character."""
    environ = environ_for(http_scope(path="/caf\u00e9 au lait", raw_path=b"/caf%C3%A9%20au%20lait"))

    assert environ["PATH_INFO"] == "/caf\u00c3\u00a9 au lait"
    assert environ["PATH_INFO"].encode("latin-1").decode("utf-8") == "/caf\u00e9 au lait"


def test_django_reads_the_non_ascii_path_back_as_unicode():
    """What matters in the end: Django's request.path is the path the client asked for."""
    environ = environ_for(
        http_scope(path="/\u00fcber/\u65e5\u672c", raw_path=b"/%C3%BCber/%E6%97%A5%E6%9C%AC")
    )

    request = WSGIRequest(environ)

    assert request.path == "/\u00fcber/\u65e5\u672c"
    assert request.path_info == "/\u00fcber/\u65e5\u672c"


def test_root_path_becomes_script_name_and_is_not_repeated_in_path_info():
    """ASGI's path includes root_path; WSGI splits it into SCRIPT_NAME + PATH_INFO.

    (ASGI spec, WSGI compatibility; asgiref's WsgiToAsgi and Django's ASGIRequest strip it.)
    """
    environ = environ_for(http_scope(root_path="/app", path="/app/api/posts"))

    assert environ["SCRIPT_NAME"] == "/app"
    assert environ["PATH_INFO"] == "/api/posts"
    assert WSGIRequest(environ).path == "/app/api/posts"


def test_repeated_headers_are_joined_with_commas():
    """RFC 9110 §5.3: a repeated field means the comma-joined list of its values."""
    environ = environ_for(
        http_scope(
            headers=[
                (b"host", b"testserver"),
                (b"accept", b"application/json"),
                (b"x-forwarded-for", b"198.51.100.1"),
                (b"accept", b"text/html"),
            ]
        )
    )

    assert environ["HTTP_ACCEPT"] == "application/json,text/html"
    assert environ["HTTP_X_FORWARDED_FOR"] == "198.51.100.1"
    assert environ["HTTP_HOST"] == "testserver"


def test_content_type_and_length_have_no_http_prefix():
    """PEP 3333 names these two CONTENT_TYPE and CONTENT_LENGTH; Django reads nothing else."""
    environ = environ_for(
        http_scope(
            method="POST",
            headers=[(b"content-type", b"application/json"), (b"content-length", b"2")],
        ),
        body(b"{}"),
    )

    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["CONTENT_LENGTH"] == "2"
    assert "HTTP_CONTENT_TYPE" not in environ
    assert "HTTP_CONTENT_LENGTH" not in environ


def test_chunked_request_gets_content_length_from_its_body():
    """Without CONTENT_LENGTH Django reads a body as empty: a chunked upload must still arrive."""
    environ = environ_for(
        http_scope(method="POST", headers=[(b"transfer-encoding", b"chunked")]),
        body(b'{"title": ', more=True),
        body(b'"x"}'),
    )

    assert environ["CONTENT_LENGTH"] == "14"
    assert environ["wsgi.input"].getvalue() == b'{"title": "x"}'


def test_request_without_body_has_no_content_length():
    environ = environ_for(http_scope())

    assert "CONTENT_LENGTH" not in environ


def test_wsgi_environ_is_usable_on_its_own():
    """The environ builder is public: the same scope and body give the same PEP 3333 keys."""
    environ = wsgi_environ(http_scope(method="POST"), b"abc")

    assert environ["wsgi.input"].read() == b"abc"
    assert environ["CONTENT_LENGTH"] == "3"
    assert environ["wsgi.version"] == (1, 0)
    assert environ["wsgi.multithread"] is False


# The body


def test_body_sent_in_several_chunks_reaches_the_app_whole():
    app = EchoApp()
    peer = Peer(
        body(b"one,", more=True), body(b"", more=True), body(b"two,", more=True), body(b"3")
    )

    serve(app, http_scope(method="POST", headers=[(b"content-length", b"9")]), peer)

    assert peer.status == 200
    assert peer.body == b"one,two,3"
    assert peer.receive_calls == 4


def test_body_exactly_at_the_cap_is_served():
    app = EchoApp()
    payload = b"x" * CAP
    peer = Peer(body(payload[:10], more=True), body(payload[10:]))

    serve(app, http_scope(method="POST"), peer)

    assert peer.status == 200
    assert peer.body == payload


def assert_too_large(peer: Peer) -> None:
    assert peer.status == 413
    assert peer.headers[b"content-type"] == b"application/json"
    assert peer.headers[b"content-length"] == str(len(peer.body)).encode()
    assert json.loads(peer.body)["code"] == "request_too_large"


def test_declared_content_length_over_the_cap_is_refused_before_reading():
    """The body is never read: 413 goes out while the client may still be sending it."""
    app = EchoApp()
    peer = Peer()  # any receive() fails the test
    scope = http_scope(method="POST", headers=[(b"content-length", str(CAP + 1).encode())])

    serve(app, scope, peer)

    assert_too_large(peer)
    assert peer.receive_calls == 0
    assert app.environs == []


def test_chunked_body_growing_over_the_cap_is_refused():
    app = EchoApp()
    peer = Peer(
        body(b"x" * CAP, more=True),
        body(b"y"),  # one byte too many
    )

    serve(app, http_scope(method="POST", headers=[(b"transfer-encoding", b"chunked")]), peer)

    assert_too_large(peer)
    assert app.environs == []


def test_disconnect_while_reading_sends_nothing_and_skips_the_app():
    app = EchoApp()
    peer = Peer(body(b"half", more=True), {"type": "http.disconnect"})

    serve(app, http_scope(method="POST", headers=[(b"content-length", b"8")]), peer)

    assert peer.sent == []
    assert app.environs == []


# The response


def test_app_raising_is_answered_500_json_and_logged(caplog):
    def broken(environ, start_response):
        raise RuntimeError("boom")

    peer = Peer(body(b""))

    with caplog.at_level(logging.ERROR, logger="config.inline_wsgi"):
        serve(broken, http_scope(), peer)

    assert peer.status == 500
    assert peer.headers[b"content-type"] == b"application/json"
    assert json.loads(peer.body) == {"detail": "Internal server error.", "code": "server_error"}
    assert any(record.exc_info and "boom" in str(record.exc_info[1]) for record in caplog.records)


def test_app_raising_after_start_response_sends_only_the_500():
    """Nothing is sent before the app finishes, so an error mid-body cannot mix two responses."""

    def fails_while_iterating(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"partial"
        raise RuntimeError("boom")

    peer = Peer(body(b""))

    serve(fails_while_iterating, http_scope(), peer)

    assert peer.status == 500
    assert len(peer.sent) == 2
    assert b"partial" not in peer.body


def test_response_status_headers_and_body_are_sent():
    def app(environ, start_response):
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-Request", "a")])
        return [b"made ", b"it"]

    peer = Peer(body(b""))

    serve(app, http_scope(method="POST"), peer)

    assert peer.sent[0] == {
        "type": "http.response.start",
        "status": 201,
        "headers": [(b"content-type", b"text/plain"), (b"x-request", b"a")],
    }
    assert peer.sent[1] == {"type": "http.response.body", "body": b"made it"}


def test_head_sends_headers_but_an_empty_body():
    """RFC 9110 §9.3.2: HEAD gets GET's headers, Content-Length included, and no content."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [b"hello"]

    get, head = Peer(body(b"")), Peer(body(b""))

    serve(app, http_scope(method="GET"), get)
    serve(app, http_scope(method="HEAD"), head)

    assert get.body == b"hello"
    assert head.status == 200
    assert head.headers == get.headers
    assert head.headers[b"content-length"] == b"5"
    assert head.body == b""


class ClosingResult:
    """A response iterable that records whether the server closed it (PEP 3333)."""

    def __init__(self, chunks: list[bytes], *, fail: bool = False) -> None:
        self.chunks = chunks
        self.fail = fail
        self.closed = False

    def __iter__(self):
        yield from self.chunks
        if self.fail:
            raise RuntimeError("boom")

    def close(self) -> None:
        self.closed = True


def test_response_iterable_is_closed_after_it_is_drained():
    """Django's request_finished (returning the DB connection) fires in close()."""
    result = ClosingResult([b"a", b"b"])

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return result

    peer = Peer(body(b""))

    serve(app, http_scope(), peer)

    assert result.closed
    assert peer.body == b"ab"


def test_response_iterable_is_closed_when_iterating_it_fails():
    result = ClosingResult([b"a"], fail=True)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return result

    peer = Peer(body(b""))

    serve(app, http_scope(), peer)

    assert result.closed
    assert peer.status == 500


# State across requests


REQUEST_MARK = contextvars.ContextVar("request_mark")


def test_contextvar_set_in_one_request_is_seen_by_the_next():
    """Each request is its own task (as in gunicorn), yet they share one context.

    Django keeps its database connections in contextvars while a loop runs in the thread; a
    fresh context per request would open (and leak) a connection per request.
    """
    seen = []

    def app(environ, start_response):
        seen.append(REQUEST_MARK.get(None))
        REQUEST_MARK.set(environ["PATH_INFO"])
        start_response("204 No Content", [])
        return []

    serve_first_then_second(app)

    assert seen == [None, "/first"]
    assert REQUEST_MARK.get(None) is None, "the app's state must not leak into the server's"


def serve_first_then_second(app) -> None:
    """Serve /first then /second, each on its own task, as gunicorn runs requests."""
    inline = InlineWSGI(app, max_body_bytes=CAP)

    async def two_requests_on_two_tasks() -> None:
        for path in ("/first", "/second"):
            peer = Peer(body(b""))
            await asyncio.create_task(inline(http_scope(path=path), peer.receive, peer.send))

    asyncio.run(two_requests_on_two_tasks())


def test_thread_critical_local_persists_across_requests():
    """The storage Django's ConnectionHandler uses: asgiref's Local(thread_critical=True)."""
    storage = Local(thread_critical=True)
    seen = []

    def app(environ, start_response):
        seen.append(getattr(storage, "connection", None))
        storage.connection = f"opened by {environ['PATH_INFO']}"
        start_response("204 No Content", [])
        return []

    serve_first_then_second(app)

    assert seen == [None, "opened by /first"]


# Other scopes


def test_lifespan_startup_and_shutdown_complete():
    peer = Peer({"type": "lifespan.startup"}, {"type": "lifespan.shutdown"})

    serve(EchoApp(), {"type": "lifespan", "asgi": {"version": "3.0"}}, peer)

    assert peer.sent == [
        {"type": "lifespan.startup.complete"},
        {"type": "lifespan.shutdown.complete"},
    ]


def test_websocket_scope_returns_without_sending_or_calling_the_app():
    app = EchoApp()
    peer = Peer()  # any receive() fails the test
    scope = http_scope(type="websocket", scheme="ws", subprotocols=[])

    serve(app, scope, peer)

    assert peer.sent == []
    assert app.environs == []


def test_the_worker_wraps_wsgi_applications_and_leaves_asgi_ones_alone():
    """`gunicorn -c config/gunicorn.py config.asgi` must keep working with the default worker."""
    from django.core.asgi import get_asgi_application
    from django.core.wsgi import get_wsgi_application

    from config.worker import is_asgi

    async def asgi_function(scope, receive, send):
        return None

    assert is_asgi(get_asgi_application())
    assert is_asgi(asgi_function)
    assert not is_asgi(get_wsgi_application())
    assert not is_asgi(InlineWSGI.__init__)
