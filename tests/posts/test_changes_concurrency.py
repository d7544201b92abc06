"""The change feed under concurrent writers with real commits: nothing missed, nothing twice.

Authors write through the API while an "editor" (as the admin would) changes anyone's posts in
slow transactions that take their transaction id early and commit late, touching posts
others have just changed: the orders in which ids are taken, rows are written and
transactions commit all differ. Readers poll meanwhile; newcomers start mid-way (cursor, then
the lists); replays start from old cursors. Every one of them must end with exactly what the
lists show its caller, no reader may be sent the same state of a post twice, and none may hear
of a post it could never see. (A deletion may come again after the post was visible for a
while in between: a client may have listed it then.)
"""

import random
import threading
import time
import uuid
from dataclasses import dataclass, field

import pytest
from django.db import connections, transaction
from django.db.models import Q
from rest_framework.test import APIClient

from posts.models import Post, PostChange
from tests.factories import make_profile
from tests.support.http import bearer

WRITERS = 3
OPERATIONS_PER_WRITER = 12
EDITS = 10
FEED = "/api/posts/changes"


@dataclass
class Reader:
    """A client following the feed: its copy of the posts and what it was sent."""

    client: APIClient
    cursor: str
    posts: dict[str, dict] = field(default_factory=dict)
    sent: list[tuple[str, str | None]] = field(default_factory=list)  # (id, updated_at | None)
    history: list[tuple[str, dict]] = field(default_factory=list)  # (cursor, copy) after polls

    def poll(self) -> None:
        """Fetch and apply every change since the cursor (following `more`)."""
        while True:
            response = self.client.get(FEED, {"since": self.cursor})
            assert response.status_code == 200, response.content
            body = response.json()
            ids = [change["id"] for change in body["changes"]]
            assert len(ids) == len(set(ids)), "a post twice in one answer"
            for change in body["changes"]:
                apply(self.posts, change)
                self.sent.append((change["id"], change.get("updated_at")))
            self.cursor = body["cursor"]
            if not body["more"]:
                self.history.append((self.cursor, dict(self.posts)))
                return


def apply(posts: dict, change: dict) -> None:
    if change.get("deleted"):
        posts.pop(change["id"], None)
    else:
        posts[change["id"]] = change


def listed(client: APIClient, *paths: str) -> dict[str, dict]:
    """Return every post the lists show the client, following their pages."""
    posts = {}
    for path in paths:
        url = path
        while url:
            response = client.get(url)
            assert response.status_code == 200
            posts.update({post["id"]: post for post in response.json()["results"]})
            url = response.json()["next"]
    return posts


def start(client: APIClient) -> str:
    """Return the cursor of now."""
    return client.get(FEED).json()["cursor"]


def replay(client: APIClient, cursor: str, posts: dict) -> dict:
    reader = Reader(client, cursor, dict(posts))
    reader.poll()
    return reader.posts


def in_thread(work) -> threading.Thread:
    """Run work in a thread with its own database connection, closed at the end."""

    def run():
        try:
            work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def author_writes(client: APIClient, seed: int) -> None:
    """Create, edit, publish, unpublish and delete one's own posts through the API."""
    rng = random.Random(seed)  # noqa: S311 - a test's choices, not a secret
    mine: list[str] = []
    for n in range(OPERATIONS_PER_WRITER):
        action = rng.choice(["create", "create", "edit", "toggle", "delete"]) if mine else "create"
        if action == "create":
            body = {"title": f"{seed}-{n}", "published": rng.random() < 0.6}
            response = client.post("/api/posts/", body, format="json")
            assert response.status_code == 201, response.content
            mine.append(response.json()["id"])
        elif action == "delete":
            post_id = mine.pop(rng.randrange(len(mine)))
            assert client.delete(f"/api/posts/{post_id}").status_code in (204, 404)
        else:
            post_id = rng.choice(mine)
            body = {"title": f"{seed}-{n} edit"}
            if action == "toggle":
                body = {"published": rng.random() < 0.5}
            assert client.patch(f"/api/posts/{post_id}", body, format="json").status_code in (
                200,
                404,  # the editor deleted it meanwhile
            )
        time.sleep(rng.random() / 200)


def editor_writes(seed: int, stop: threading.Event) -> None:
    """Change anyone's posts in slow transactions: the transaction id early, the commit late."""
    rng = random.Random(seed)  # noqa: S311 - a test's choices, not a secret
    for _ in range(EDITS):
        ids = list(Post.objects.values_list("id", flat=True))
        if len(ids) < 2 or stop.is_set():
            time.sleep(0.01)
            continue
        first, second = rng.sample(ids, 2)
        with transaction.atomic():
            Post.objects.filter(pk=first).update(title=f"edited {uuid.uuid4().hex[:6]}")
            time.sleep(rng.random() / 50)  # others commit meanwhile, with later ids
            if rng.random() < 0.3:
                Post.objects.filter(pk=second).delete()
            else:
                Post.objects.filter(pk=second).update(published=not rng.random() < 0.5)


@pytest.mark.parametrize("mode", ["off", "enforce"])
def test_concurrent_writes_converge_for_every_reader(settings, transactional_db, token_for, mode):
    settings.DATABASE_RLS = mode
    writers = [make_profile(f"writer{n}@example.com") for n in range(WRITERS)]
    viewer = make_profile("viewer@example.com")
    clients = {"anon": APIClient()}
    for name, profile in [("author", writers[0]), ("viewer", viewer)]:
        clients[name] = APIClient()
        clients[name].credentials(**bearer(token_for(profile)))
    paths = {"anon": ["/api/posts/"], "viewer": ["/api/posts/"]}
    paths["author"] = ["/api/posts/", "/api/posts/me"]
    readers = {name: Reader(client, start(client)) for name, client in clients.items()}
    newcomers: dict[str, Reader] = {}
    done, stop = threading.Event(), threading.Event()

    def follow(name: str) -> None:
        while not done.is_set():
            readers[name].poll()
            time.sleep(0.005)

    def arrive_late(name: str) -> None:
        time.sleep(0.05)
        client = clients[name]
        reader = Reader(client, start(client))  # the cursor first,
        reader.posts = listed(client, *paths[name])  # then the lists
        newcomers[name] = reader

    author_clients = []
    for profile in writers:
        client = APIClient()
        client.credentials(**bearer(token_for(profile)))
        author_clients.append(client)
    writing = [
        in_thread(lambda c=c, n=n: author_writes(c, n)) for n, c in enumerate(author_clients)
    ]
    writing.append(in_thread(lambda: editor_writes(99, stop)))
    reading = [in_thread(lambda name=name: follow(name)) for name in readers]
    reading += [in_thread(lambda name=name: arrive_late(name)) for name in readers]
    for thread in writing[:-1]:
        thread.join(timeout=120)
    stop.set()
    writing[-1].join(timeout=120)
    done.set()
    for thread in reading:
        thread.join(timeout=120)

    # Ids each caller could see at some moment: published, or theirs (no draft may leak).
    seen_by = {
        name: {
            str(post_id)
            for post_id in PostChange.objects.filter(
                Q(was_published=True)
                | Q(is_published=True)
                | Q(old_author_id=user_id)
                | Q(new_author_id=user_id)
            ).values_list("post_id", flat=True)
        }
        for name, user_id in [("anon", None), ("author", writers[0].id), ("viewer", viewer.id)]
    }
    rng = random.Random(7)  # noqa: S311 - a test's sample, not a secret
    for name, reader in readers.items():
        reader.poll()
        expected = listed(clients[name], *paths[name])
        assert reader.posts == expected, name
        states = [(post_id, stamp) for post_id, stamp in reader.sent if stamp is not None]
        assert len(states) == len(set(states)), f"{name} was sent a state twice"
        assert not {post_id for post_id, _ in reader.sent} - seen_by[name], f"{name}: a draft"
        newcomers[name].poll()
        assert newcomers[name].posts == expected, f"{name}, arriving late"
        for cursor, copy in rng.sample(reader.history, min(5, len(reader.history))):
            assert replay(clients[name], cursor, copy) == expected, f"{name}, replayed"
    assert Post.objects.exists()
