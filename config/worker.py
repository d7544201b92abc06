"""The gunicorn worker class: gunicorn's gthread worker, with each request read in bounded time.

gthread serves a request per thread, so a process keeps answering while a request waits on
Postgres (docs/performance.md). What it lacks, this adds, before Django sees the request:
- a deadline on reading a request (headers and body): a client that trickles bytes loses its
  connection after SERVER_READ_TIMEOUT instead of holding a thread for ever;
- the body read completely first, at most SERVER_MAX_BODY_BYTES (413 beyond, unread), so the
  bytes buffered per process are at most threads x that cap (a chunked body then reaches
  Django with its length, where gunicorn alone gives Django an empty body; "100 Continue"
  goes out before that read, not after it);
- X-Forwarded-* and Forwarded only from FORWARDED_ALLOW_IPS (gunicorn trusts them only there
  for the URL scheme, but passes them on to Django, which reads X-Forwarded-Proto itself);
- repeated Cookie headers joined with "; " as Django's ASGI handler and RFC 9113 §8.2.3 do
  (gunicorn joins every repeated header with ",", which merges two cookies into one).
Headers whose names contain "_" are dropped by gunicorn itself (header_map="drop").
"""

import contextlib
import io
import json
import socket
import time

from gunicorn import util
from gunicorn.http.body import Body
from gunicorn.workers import gthread

FORWARDED_HEADERS = frozenset({"FORWARDED", "X-REAL-IP"})
FORWARDED_PREFIX = "X-FORWARDED-"
TOO_LARGE = json.dumps({"detail": "Request body too large.", "code": "request_too_large"})
READ_TIMEOUT = json.dumps({"detail": "Request not received in time.", "code": "request_timeout"})


class ThreadWorker(gthread.ThreadWorker):
    """gunicorn's gthread worker; each request is read whole, in bounded time, then served."""

    def load_wsgi(self) -> None:
        super().load_wsgi()
        from django.conf import settings  # configured now that the application is loaded

        self.read_timeout = settings.SERVER_READ_TIMEOUT
        self.max_body_bytes = settings.SERVER_MAX_BODY_BYTES
        self.reading: dict = {}  # connection -> deadline, while its request is being read

    def handle(self, conn):
        """Read and serve a request, within the read deadline until its body is in memory."""
        self.reading[conn] = time.monotonic() + self.read_timeout
        try:
            return super().handle(conn)
        finally:
            self.reading.pop(conn, None)

    def handle_request(self, req, conn) -> bool:
        """Buffer the body (or answer 413), sanitise the headers, then run the application."""
        declared = _content_length(req)
        if declared is not None and declared > self.max_body_bytes:
            return _refuse(conn, "413 Content Too Large", TOO_LARGE)
        if req._expected_100_continue:
            # The client waits for this before sending its body (RFC 9110 §10.1.1); gunicorn
            # would send it only once the application reads, after the body we wait for here.
            util.write(conn.sock, b"HTTP/1.1 100 Continue\r\n\r\n")
            req._expected_100_continue = False
        body = req.body.read(self.max_body_bytes + 1)
        if len(body) > self.max_body_bytes:
            return _refuse(conn, "413 Content Too Large", TOO_LARGE)
        if declared is not None and len(body) < declared:
            return False  # the client went away (or its time ran out) mid-body
        if self.reading.pop(conn, None) is None:
            return False  # its deadline passed meanwhile: the connection was cut
        req.body = Body(io.BytesIO(body))
        # gunicorn's own FORWARDED_ALLOW_IPS decision, the one that set wsgi.url_scheme.
        headers = _sanitised_headers(req.headers, trusted=req._peer_is_trusted_proxy())
        if declared is None and body:
            # A chunked body, now whole: Django reads CONTENT_LENGTH bytes (none without it).
            headers = [h for h in headers if h[0] != "TRANSFER-ENCODING"]
            headers.append(("CONTENT-LENGTH", str(len(body))))
        req.headers = headers
        return super().handle_request(req, conn)

    def set_accept_enabled(self, enabled: bool) -> None:
        """On shutdown, also close the listening sockets while in-flight requests drain.

        With `reuse_port` each worker has a socket of its own, and the kernel keeps handing it
        new connections until it is closed: left open for the drain (up to graceful_timeout),
        they would wait unanswered and then be reset. Closed, they go to the other workers;
        only those queued on it at that instant are reset (Linux's net.ipv4.tcp_migrate_req
        moves them instead). A shared socket (reuse_port off) stays open in the master and the
        other workers.
        """
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive:
            for listener in self.sockets:
                listener.close()

    def murder_keepalived(self, force: bool = False) -> None:
        """Also end requests still being read past their deadline (runs about once a second)."""
        super().murder_keepalived(force)
        now = time.monotonic()
        for conn, deadline in list(self.reading.items()):
            if deadline <= now and self.reading.pop(conn, None) is not None:
                _time_out(conn.sock)


def _content_length(req) -> int | None:
    for name, value in req.headers:
        if name == "CONTENT-LENGTH":
            try:
                return int(value)
            except ValueError:  # gunicorn refuses a malformed length before this
                return None
    return None


def _sanitised_headers(headers: list, *, trusted: bool) -> list:
    """Drop forwarding headers from untrusted peers; join repeated Cookie headers with "; "."""
    kept, cookies = [], []
    for name, value in headers:
        if not trusted and (name in FORWARDED_HEADERS or name.startswith(FORWARDED_PREFIX)):
            continue
        if name == "COOKIE":
            cookies.append(value.rstrip("; "))
        else:
            kept.append((name, value))
    if cookies:
        kept.append(("COOKIE", "; ".join(cookies)))
    return kept


def _refuse(conn, status: str, body: str) -> bool:
    """Answer with a JSON error and close the connection (return False: no keep-alive)."""
    util.write(conn.sock, _response(status, body))
    return False


def _response(status: str, body: str) -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return (head + body).encode()


def _time_out(sock: socket.socket) -> None:
    """Answer 408 if the socket takes it without waiting, then cut the connection.

    Shutting the socket down wakes the thread blocked reading it (recv returns end of file),
    which then lets the connection go (RFC 9110 §15.5.9: 408, the server closes).
    """
    with contextlib.suppress(OSError):
        sock.send(_response("408 Request Timeout", READ_TIMEOUT), socket.MSG_DONTWAIT)
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
