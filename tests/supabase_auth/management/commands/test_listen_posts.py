"""`manage.py listen_posts` against a real loopback Realtime server (Phoenix channels over WS)."""

import json
import threading
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.support.realtime_server import DROP, FakeRealtime, change

AUTHOR = "0b5c2a6e-5a4b-4a4e-9a39-2f8e1c1c0a11"
POST = {
    "id": "6f1d7c1e-2b1c-4e55-b3a5-0f6a8f0c9d21",
    "author_id": AUTHOR,
    "title": "Hello",
    "content": "First post",
    "published": True,
    "created_at": "2025-06-01T12:00:00.1+00:00",
    "updated_at": "2025-06-01T12:00:00.1+00:00",
}
EDITED = POST | {"title": "Hello, again"}
POSTS_BINDING = {"event": "*", "schema": "public", "table": "posts"}


@pytest.fixture
def realtime(settings):
    with FakeRealtime() as server:
        settings.SUPABASE_URL = server.url
        settings.SUPABASE_ANON_KEY = server.anon_key
        yield server


def user_token(realtime: FakeRealtime) -> str:
    """Return an access token of the author, signed with the project's secret."""
    return realtime.token(sub=AUTHOR, role="authenticated", exp=int(time.time()) + 3600)


def listen(*args: str, timeout: float = 10) -> tuple[list[dict], str]:
    """Run the command in a thread (it blocks); return its JSON lines and its stderr."""
    out, err = StringIO(), StringIO()
    raised: list[BaseException] = []

    def run() -> None:
        try:
            call_command("listen_posts", *args, stdout=out, stderr=err)
        except BaseException as exc:  # handed to the test thread
            raised.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still running after {timeout} s; stderr: {err.getvalue()}"
    if raised:
        raise raised[0]
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def printed(data: dict) -> dict:
    """The line the command prints for a change's data."""
    return {
        "type": data["type"],
        "table": data["table"],
        "commit_timestamp": data["commit_timestamp"],
        "record": data.get("record"),
        "old_record": data.get("old_record"),
    }


def test_prints_one_json_line_per_change_and_stops_after_max_events(realtime):
    inserted = change("INSERT", POST)
    updated = change("UPDATE", EDITED, {"id": POST["id"]})
    deleted = change("DELETE", old_record={"id": POST["id"]})
    realtime.queue(inserted, updated, deleted)

    lines, _ = listen("--max-events", "2")

    assert lines == [printed(inserted), printed(updated)]
    assert lines[0] == {
        "type": "INSERT",
        "table": "posts",
        "commit_timestamp": "2025-06-01T12:00:00.123Z",
        "record": POST,
        "old_record": None,
    }
    assert len(realtime.connections) == 1


def test_prints_deletes_with_the_old_record(realtime):
    deleted = change("DELETE", old_record={"id": POST["id"]})
    realtime.queue(deleted)

    lines, _ = listen("--max-events", "1")

    assert lines == [
        {
            "type": "DELETE",
            "table": "posts",
            "commit_timestamp": deleted["commit_timestamp"],
            "record": None,
            "old_record": {"id": POST["id"]},
        }
    ]


def test_subscribes_to_posts_with_the_anon_key(realtime):
    realtime.queue(change("INSERT", POST))

    listen("--max-events", "1")

    (connection,) = realtime.connections
    assert connection.path == "/realtime/v1/websocket"
    assert connection.query == {"apikey": realtime.anon_key, "vsn": "1.0.0"}
    (join,) = realtime.joins
    assert join.topic == "realtime:django-posts-changes"
    assert [{k: v for k, v in b.items() if k != "id"} for b in join.bindings] == [POSTS_BINDING]
    assert join.access_token == realtime.anon_key
    assert realtime.refusals == []


def test_event_and_filter_are_part_of_the_subscription(realtime):
    realtime.queue(change("INSERT", POST))

    listen("--event", "INSERT", "--filter", f"author_id=eq.{AUTHOR}", "--max-events", "1")

    (join,) = realtime.joins
    assert join.payload["config"]["postgres_changes"] == [
        {
            "event": "INSERT",
            "schema": "public",
            "table": "posts",
            "filter": f"author_id=eq.{AUTHOR}",
        }
    ]


def test_token_subscribes_as_that_user(realtime):
    token = user_token(realtime)
    realtime.queue(change("INSERT", POST))

    lines, _ = listen("--token", token, "--max-events", "1")

    assert len(lines) == 1
    (join,) = realtime.joins
    assert join.access_token == token
    (connection,) = realtime.connections
    assert connection.query["apikey"] == realtime.anon_key  # the key identifies the project
    assert token not in json.dumps(connection.query)


def test_reconnects_after_the_connection_drops(realtime):
    before = change("INSERT", POST)
    after = change("UPDATE", EDITED, {"id": POST["id"]})
    realtime.queue(before, DROP, after)

    token = user_token(realtime)

    lines, _ = listen("--token", token, "--max-events", "2")

    assert lines == [printed(before), printed(after)]
    assert len(realtime.connections) == 2
    assert [join.access_token for join in realtime.joins] == [token, token]
    assert realtime.joins[0].payload["config"] == realtime.joins[1].payload["config"]


def test_keeps_trying_while_realtime_refuses_connections(realtime):
    realtime.refuse_handshakes = 1
    realtime.queue(change("INSERT", POST))

    lines, _ = listen("--max-events", "1")

    assert lines == [printed(change("INSERT", POST))]
    assert len(realtime.joins) == 1


def test_refused_join_is_tried_again(realtime):
    realtime.refuse_joins = 1
    realtime.queue(change("INSERT", POST))

    lines, _ = listen("--max-events", "1")

    assert lines == [printed(change("INSERT", POST))]
    assert len(realtime.joins) == 1  # the accepted one


def test_changes_to_other_bindings_are_not_printed(realtime):
    realtime.queue(change("INSERT", {"id": 1}, table="comments"), change("INSERT", POST))

    lines, _ = listen("--max-events", "1")

    assert lines == [printed(change("INSERT", POST))]


def test_without_supabase_settings_it_refuses_to_start(realtime, settings):
    settings.SUPABASE_ANON_KEY = ""

    with pytest.raises(CommandError, match=r"^Set SUPABASE_URL and SUPABASE_ANON_KEY\.$"):
        listen("--max-events", "1")

    assert realtime.connections == []


def test_help_points_clients_without_realtime_at_the_change_feed():
    from supabase_auth.management.commands.listen_posts import Command

    assert "GET /api/posts/changes?since=<cursor>" in Command.help
