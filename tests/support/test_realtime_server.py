"""FakeRealtime checks tokens as Supabase Realtime does: at the upgrade and at each join."""

import json
import time

import jwt
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.support.realtime_server import FakeRealtime

TOPIC = "realtime:posts"
POSTS = {"event": "*", "schema": "public", "table": "posts"}


@pytest.fixture
def realtime():
    with FakeRealtime() as server:
        yield server


def socket_url(realtime: FakeRealtime, apikey: str | None) -> str:
    query = "vsn=1.0.0" + (f"&apikey={apikey}" if apikey is not None else "")
    return realtime.url.replace("http://", "ws://") + f"/realtime/v1/websocket?{query}"


def refused_upgrade(realtime: FakeRealtime, apikey: str | None) -> tuple[int, dict]:
    with pytest.raises(InvalidStatus) as refused:
        connect(socket_url(realtime, apikey), open_timeout=5)
    response = refused.value.response
    return response.status_code, json.loads(response.body)


def join(realtime: FakeRealtime, access_token: str) -> dict:
    """Open a socket with the anon key, join posts changes with access_token; return the reply."""
    with connect(socket_url(realtime, realtime.anon_key), open_timeout=5) as ws:
        payload = {"config": {"postgres_changes": [POSTS]}, "access_token": access_token}
        ws.send(json.dumps({"topic": TOPIC, "event": "phx_join", "payload": payload, "ref": "1"}))
        return json.loads(ws.recv(timeout=5))["payload"]


def expires_in(seconds: int) -> int:
    return int(time.time()) + seconds


@pytest.mark.parametrize(
    ("apikey", "error"),
    [
        pytest.param(None, "API key is missing", id="missing"),
        pytest.param("not-a-jwt", "The token provided is not a valid JWT", id="malformed"),
        pytest.param(
            jwt.encode({"role": "anon", "exp": expires_in(60)}, b"another-project-secret" * 2),
            "Failed to validate JWT signature",
            id="other-project",
        ),
        pytest.param("expired", "Token has expired", id="expired"),
        pytest.param("no-role", "Fields `role` and `exp` are required in JWT", id="no-role"),
    ],
)
def test_upgrade_without_a_valid_key_is_401(realtime, apikey, error):
    apikey = {
        "expired": realtime.token(role="anon", exp=expires_in(-5)),
        "no-role": realtime.token(exp=expires_in(60)),
    }.get(apikey, apikey)

    status, body = refused_upgrade(realtime, apikey)

    assert (status, body) == (401, {"error": error})
    assert realtime.connections == []
    assert realtime.refusals == [error]


def test_upgrade_with_the_anon_key_is_accepted(realtime):
    with connect(socket_url(realtime, realtime.anon_key), open_timeout=5):
        pass

    assert len(realtime.connections) == 1
    assert realtime.refusals == []


def test_join_with_an_expired_user_token_is_refused(realtime):
    token = realtime.token(sub="u1", role="authenticated", exp=expires_in(-5))

    reply = join(realtime, token)

    assert reply == {
        "status": "error",
        "response": {"reason": "InvalidJWTToken: Token has expired"},
    }
    assert realtime.joins == []


def test_join_with_a_token_of_another_project_is_refused(realtime):
    token = jwt.encode({"role": "authenticated", "exp": expires_in(60)}, b"other-secret" * 4)

    reply = join(realtime, token)

    assert reply["response"] == {"reason": "JwtSignatureError: Failed to validate JWT signature"}
    assert realtime.joins == []


@pytest.mark.parametrize("token", ["user", "sb_publishable_key"], ids=["user-token", "sb-key"])
def test_join_with_a_valid_token_subscribes(realtime, token):
    if token == "user":
        token = realtime.token(sub="u1", role="authenticated", exp=expires_in(60))

    reply = join(realtime, token)

    assert reply["status"] == "ok"
    assert [
        {k: v for k, v in b.items() if k != "id"} for b in reply["response"]["postgres_changes"]
    ] == [POSTS]
    (accepted,) = realtime.joins
    assert accepted.access_token == token
    assert realtime.refusals == []
