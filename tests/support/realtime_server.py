"""A real loopback WebSocket server playing Supabase Realtime for realtime-py 2.34.1.

It speaks the part of the Phoenix channel protocol (JSON serializer, vsn 1.0.0) the async client
uses: `phx_join` with `config.postgres_changes` bindings (and `access_token`) answered by a
`phx_reply` {status: "ok", response: {postgres_changes: [binding + id]}} and a `system`
"Subscribed to PostgreSQL" message; `heartbeat` on topic `phoenix` answered ok; then
`postgres_changes` messages whose payload is {data: {schema, table, commit_timestamp, type,
columns, record, old_record, errors}, ids: [binding ids]} (realtime/_async/channel.py,
message.py, types.py).

Usage::

    with FakeRealtime() as realtime:
        settings.SUPABASE_URL = realtime.url   # the client adds /realtime/v1/websocket
        realtime.queue(change("INSERT", {...}), DROP, change("UPDATE", {...}))

Queued items are sent to the subscriber as soon as one has joined, in order; `DROP` cuts that
connection (no close frame, as a network failure would) and the rest waits for the next join.

Tokens are checked as Realtime checks them (supabase/realtime `UserSocket.connect`,
`RealtimeChannel.join`, `JwtVerification`): the upgrade needs an `apikey` (query or `x-api-key`
header) that is a JWT signed with the project's secret, unexpired, with `role` and `exp`, or it
is refused with HTTP 401 {"error": ...}; a join's `access_token` is checked the same way (an
`sb_...` key stands for the socket's own key) and refused with {status: "error", response:
{reason: "InvalidJWTToken: ..."}}. `anon_key` is a valid key; `token(...)` signs others.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jwt
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

DROP = object()
"""Queue item: drop the subscriber's connection."""

_OK = {"status": "ok", "response": {}}
TEN_YEARS = 10 * 365 * 24 * 3600  # the lifetime of Supabase's legacy API keys

POSTS_COLUMNS = [
    {"name": "id", "type": "uuid"},
    {"name": "author_id", "type": "uuid"},
    {"name": "title", "type": "text"},
    {"name": "content", "type": "text"},
    {"name": "published", "type": "bool"},
    {"name": "created_at", "type": "timestamptz"},
    {"name": "updated_at", "type": "timestamptz"},
]


def change(
    type: str,
    record: dict | None = None,
    old_record: dict | None = None,
    *,
    table: str = "posts",
    commit_timestamp: str = "2025-06-01T12:00:00.123Z",
) -> dict:
    """Return the `data` of a Postgres change as Realtime sends it (no `record` on DELETE)."""
    data: dict[str, Any] = {
        "schema": "public",
        "table": table,
        "commit_timestamp": commit_timestamp,
        "type": type,
        "columns": POSTS_COLUMNS,
        "errors": None,
    }
    if type != "DELETE":
        data["record"] = record or {}
    if type != "INSERT":
        data["old_record"] = old_record or {}
    return data


@dataclass
class Join:
    """One phx_join as received: the topic, the whole payload, the bindings with their ids."""

    topic: str
    payload: dict
    bindings: list[dict]

    @property
    def access_token(self) -> str | None:
        return self.payload.get("access_token")


@dataclass
class Connection:
    """One WebSocket connection: the path and query it opened with, the messages it sent."""

    path: str
    query: dict[str, str]
    received: list[dict] = field(default_factory=list)


class InvalidToken(Exception):
    """A token Realtime refuses; the message is Realtime's own reason."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class FakeRealtime:
    """Supabase Realtime on ws://127.0.0.1:<random port>/realtime/v1/websocket.

    jwt_secret: the project's HS256 secret that keys and access tokens must be signed with
    (random by default). Settings (plain attributes): refuse_handshakes (0): answer this many
    upgrade requests with 503; refuse_joins (0): answer this many joins with {status: "error"}.
    State: connections (list of Connection), joins (accepted Join), refusals (Realtime's
    reason for each refused upgrade or join), oldest first.
    """

    def __init__(self, *, jwt_secret: str | None = None) -> None:
        self.url = ""
        self.jwt_secret = jwt_secret or secrets.token_urlsafe(32)
        expires = int(time.time()) + TEN_YEARS
        self.anon_key = self.token(role="anon", iss="supabase-demo", exp=expires)
        self.refuse_handshakes = 0
        self.refuse_joins = 0
        self.connections: list[Connection] = []
        self.joins: list[Join] = []
        self.refusals: list[str] = []
        self._pending: deque = deque()
        self._subscriber: tuple[ServerConnection, Join] | None = None
        self._socket_keys: dict[ServerConnection, str | None] = {}
        self._ids = itertools.count(1000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeRealtime:
        ready = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(self._listen())
            port = self._server.sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name="FakeRealtime", daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("FakeRealtime did not start")
        return self

    async def _listen(self) -> Server:
        return await serve(self._serve, "127.0.0.1", 0, process_request=self._handshake)

    def close(self) -> None:
        if self._loop is None or self._server is None:
            return

        async def shutdown() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop = self._server = None

    def __enter__(self) -> FakeRealtime:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- tokens ----------------------------------------------------------------------------

    def token(self, **claims: Any) -> str:
        """Return an HS256 token signed with the project's secret, carrying exactly `claims`."""
        return jwt.encode(claims, self.jwt_secret.encode(), algorithm="HS256")

    def verify(self, token: str | None) -> dict:
        """Return the claims of a token Realtime would accept; raise InvalidToken otherwise.

        As JwtVerification and ChannelsAuthorization.authorize_conn: HS256 with the secret,
        `exp` in the future (no leeway), `role` and `exp` present.
        """
        if not isinstance(token, str) or not token:
            raise InvalidToken("MissingAPIKey", "API key is missing")
        try:
            claims = jwt.decode(
                token,
                self.jwt_secret.encode(),
                algorithms=["HS256", "HS384", "HS512"],
                options={"verify_aud": False, "verify_iat": False, "require": []},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("InvalidJWTToken", "Token has expired") from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidToken("JwtSignatureError", "Failed to validate JWT signature") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken("MalformedJWT", "The token provided is not a valid JWT") from exc
        if "role" not in claims or "exp" not in claims:
            raise InvalidToken("InvalidJWTToken", "Fields `role` and `exp` are required in JWT")
        return claims

    # -- test controls ---------------------------------------------------------------------

    def queue(self, *items: dict | object) -> None:
        """Queue changes (`change(...)` data) and DROPs for delivery to the subscriber."""

        async def add() -> None:
            self._pending.extend(items)
            await self._deliver()

        if self._loop is None:
            self._pending.extend(items)
        else:
            asyncio.run_coroutine_threadsafe(add(), self._loop).result(5)

    # -- protocol --------------------------------------------------------------------------

    def _handshake(self, connection: ServerConnection, request):
        if self.refuse_handshakes > 0:
            self.refuse_handshakes -= 1
            return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, "Realtime is restarting\n")
        query = dict(parse_qsl(urlsplit(request.path).query))
        try:
            self.verify(request.headers.get("x-api-key") or query.get("apikey"))
        except InvalidToken as refused:
            self.refusals.append(refused.reason)
            # UserSocket.handle_error: the reason as JSON with a 401.
            response = connection.respond(
                HTTPStatus.UNAUTHORIZED, json.dumps({"error": refused.reason})
            )
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "application/json"
            return response
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        parts = urlsplit(ws.request.path)
        record = Connection(parts.path, dict(parse_qsl(parts.query)))
        self._socket_keys[ws] = ws.request.headers.get("x-api-key") or record.query.get("apikey")
        self.connections.append(record)
        try:
            async for raw in ws:
                message = json.loads(raw)
                record.received.append(message)
                await self._answer(ws, message)
        except ConnectionClosed:
            pass
        finally:
            self._socket_keys.pop(ws, None)
            if self._subscriber is not None and self._subscriber[0] is ws:
                self._subscriber = None

    async def _answer(self, ws: ServerConnection, message: dict) -> None:
        topic, event, ref = message["topic"], message["event"], message.get("ref")
        if event == "phx_join":
            await self._join(ws, message)
        elif event == "access_token":
            refused = self._refusal(ws, message["payload"].get("access_token"))
            reply = {"status": "error", "response": {"reason": refused}} if refused else _OK
            await _send(ws, topic, "phx_reply", reply, ref)
        elif event in ("heartbeat", "phx_leave"):
            await _send(ws, topic, "phx_reply", _OK, ref)

    def _refusal(self, ws: ServerConnection, token: str | None) -> str | None:
        """Return why Realtime would refuse a channel this token (RealtimeChannel.join), or None.

        No token, or an `sb_...` key, stands for the key the socket connected with.
        """
        if not token or token.startswith("sb_"):
            token = self._socket_keys.get(ws)
        try:
            self.verify(token)
        except InvalidToken as refused:
            reason = f"{refused.code}: {refused.reason}"
            self.refusals.append(reason)
            return reason
        return None

    async def _join(self, ws: ServerConnection, message: dict) -> None:
        topic, ref, payload = message["topic"], message.get("ref"), message["payload"]
        if self.refuse_joins > 0:
            self.refuse_joins -= 1
            reply = {"status": "error", "response": {"reason": "Realtime is busy"}}
            await _send(ws, topic, "phx_reply", reply, ref)
            return
        refused = self._refusal(ws, payload.get("access_token") or payload.get("user_token"))
        if refused:
            reply = {"status": "error", "response": {"reason": refused}}
            await _send(ws, topic, "phx_reply", reply, ref)
            return
        requested = payload.get("config", {}).get("postgres_changes", [])
        bindings = [{**binding, "id": next(self._ids)} for binding in requested]
        join = Join(topic, payload, bindings)
        self.joins.append(join)
        reply = {"status": "ok", "response": {"postgres_changes": bindings}}
        await _send(ws, topic, "phx_reply", reply, ref)
        system = {
            "channel": topic.removeprefix("realtime:"),
            "extension": "postgres_changes",
            "message": "Subscribed to PostgreSQL",
            "status": "ok",
        }
        await _send(ws, topic, "system", system, None)
        self._subscriber = (ws, join)
        await self._deliver()

    async def _deliver(self) -> None:
        while self._pending and self._subscriber is not None:
            ws, join = self._subscriber
            item = self._pending.popleft()
            if item is DROP:
                self._subscriber = None
                ws.transport.abort()
                return
            ids = [
                b["id"]
                for b in join.bindings
                if b.get("event") in ("*", item["type"]) and b.get("table") in (None, item["table"])
            ]
            await _send(ws, join.topic, "postgres_changes", {"data": item, "ids": ids}, None)


async def _send(ws: ServerConnection, topic: str, event: str, payload: dict, ref) -> None:
    message = {"topic": topic, "event": event, "payload": payload, "ref": ref}
    await ws.send(json.dumps(message))
