"""Read replicas: public reads come from a real streaming replica; writers read their own writes.

Two API nodes (gunicorn, production settings) share Redis and reach the primary and the replica
through PgBouncer in transaction mode. Replica lag is made by pausing WAL replay on the replica,
so a row the primary has and the replica lacks shows which database answered.
"""

import time
import uuid

import httpx
import pytest

from cluster import postgres
from tests.cluster.conftest import node_env, user_token
from tests.reliability.stack import Gunicorn

STICKY_SECONDS = 2
LATENCY_BOUND = 15.0  # seconds: generous, yet a request stuck on a dead replica exceeds it


@pytest.fixture(scope="module")
def nodes(primary, replica, pgbouncer, redis_server, cluster_root):
    env = node_env(
        pgbouncer.url("primary"),
        DATABASE_POOL_MODE="transaction",
        DATABASE_REPLICA_URLS=pgbouncer.url("replica"),
        REDIS_URL=redis_server.url,
        DATABASE_REPLICA_STICKY_SECONDS=str(STICKY_SECONDS),
        DATABASE_REPLICA_RETRY_SECONDS="2",
    )
    started = [
        Gunicorn(env, cluster_root / f"replica-node-{name}.log", workers=1).start()
        for name in ("a", "b")
    ]
    yield started, env
    for node in started:
        node.stop()


@pytest.fixture
def author(nodes, primary, replica_in_sync):
    _, env = nodes
    user_id, token = user_token(primary, env, f"author-{uuid.uuid4().hex[:8]}@example.com")
    return user_id, {"Authorization": f"Bearer {token}"}


def pause_until_nodes_read_the_replica(nodes, primary, replica, author_id) -> None:
    """Pause replay, then wait until both nodes answer public reads from the replica again.

    A node that saw the replica fail skips it for DATABASE_REPLICA_RETRY_SECONDS; a post only
    the primary has is a 404 once reads are the replica's.
    """
    postgres.wait_until_caught_up(primary, replica)
    postgres.pause_replay(replica)
    probe = published_post_on_primary(primary, author_id)
    deadline = time.monotonic() + 30
    for node in nodes:
        while httpx.get(f"{node.url}/api/posts/{probe}").status_code != 404:
            assert time.monotonic() < deadline, "the nodes never read from the replica"
            time.sleep(0.2)


def publish(node, headers: dict, title: str) -> httpx.Response:
    """Create a published post through the API node."""
    return httpx.post(
        f"{node.url}/api/posts/", json={"title": title, "published": True}, headers=headers
    )


def published_post_on_primary(primary, author_id) -> uuid.UUID:
    post_id = uuid.uuid4()
    primary.execute(
        "insert into profiles (id, email, created_at, updated_at) "
        "select id, email, now(), now() from auth.users where id = %s on conflict do nothing",
        [author_id],
    )
    primary.execute(
        "insert into posts (id, author_id, title, published) values (%s, %s, 'lagging', true)",
        [post_id, author_id],
    )
    return post_id


def test_public_read_is_answered_by_the_replica(nodes, primary, replica_in_sync, author, redis):
    (node_a, node_b), _ = nodes
    author_id, _ = author
    pause_until_nodes_read_the_replica((node_a, node_b), primary, replica_in_sync, author_id)
    post_id = published_post_on_primary(primary, author_id)

    while_lagging = [httpx.get(f"{n.url}/api/posts/{post_id}") for n in (node_a, node_b)]
    postgres.resume_replay(replica_in_sync)
    postgres.wait_until_caught_up(primary, replica_in_sync)
    caught_up = httpx.get(f"{node_a.url}/api/posts/{post_id}")

    assert [r.status_code for r in while_lagging] == [404, 404]
    assert while_lagging[0].json()["code"] == "not_found"
    assert primary.execute("select title from posts where id = %s", [post_id]) == [("lagging",)]
    assert caught_up.status_code == 200
    assert caught_up.json()["title"] == "lagging"


def test_writer_reads_own_write_on_another_node_while_replica_lags(
    nodes, primary, replica_in_sync, author, redis
):
    (node_a, node_b), _ = nodes
    author_id, headers = author
    pause_until_nodes_read_the_replica((node_a, node_b), primary, replica_in_sync, author_id)

    created = publish(node_a, headers, "mine")
    post_id = created.json()["id"]
    own_read = httpx.get(f"{node_b.url}/api/posts/{post_id}", headers=headers)
    own_feed = httpx.get(f"{node_b.url}/api/posts/", headers=headers)
    anonymous = httpx.get(f"{node_b.url}/api/posts/{post_id}")

    assert created.status_code == 201
    assert own_read.status_code == 200
    assert own_read.json() == created.json()
    assert own_feed.json()["results"][0]["id"] == post_id
    assert anonymous.status_code == 404  # the replica still lags: the author's read was routed
    assert primary.execute("select title from posts where id = %s", [post_id]) == [("mine",)]


def test_writer_reads_from_the_replica_again_after_the_window(
    nodes, primary, replica_in_sync, author, redis
):
    (node_a, node_b), _ = nodes
    author_id, headers = author
    pause_until_nodes_read_the_replica((node_a, node_b), primary, replica_in_sync, author_id)
    created = publish(node_a, headers, "mine")
    post_id = created.json()["id"]

    time.sleep(STICKY_SECONDS + 0.5)
    public_read = httpx.get(f"{node_b.url}/api/posts/{post_id}", headers=headers)
    own_posts = httpx.get(f"{node_b.url}/api/posts/me", headers=headers)

    assert created.status_code == 201
    assert public_read.status_code == 404  # from the lagging replica: the window is over
    assert own_posts.json()["results"][0]["id"] == post_id  # /me: always the primary


def test_replica_down_public_reads_come_from_the_primary(
    nodes, primary, replica_in_sync, author, redis
):
    (node_a, node_b), _ = nodes
    author_id, _ = author
    post_id = published_post_on_primary(primary, author_id)
    replica_in_sync.stop()

    answers = []
    for node in (node_a, node_b, node_a, node_b):
        for path in (f"/api/posts/{post_id}", "/api/posts/", f"/api/profiles/{author_id}"):
            started = time.monotonic()
            response = httpx.get(node.url + path, timeout=LATENCY_BOUND + 5)
            answers.append((path, response.status_code, time.monotonic() - started))

    assert {status for _, status, _ in answers} == {200}
    assert max(elapsed for _, _, elapsed in answers) < LATENCY_BOUND
    assert not (replica_in_sync.data_dir / "postmaster.pid").exists()  # it really was down
    assert "Replica replica1 failed" in node_a.log() + node_b.log()


def test_shared_cache_down_writer_still_reads_own_write(
    nodes, primary, replica_in_sync, author, redis
):
    (node_a, node_b), _ = nodes
    author_id, headers = author
    pause_until_nodes_read_the_replica((node_a, node_b), primary, replica_in_sync, author_id)
    redis.stop()

    created = publish(node_a, headers, "no redis")
    post_id = created.json()["id"]
    own_read = httpx.get(f"{node_b.url}/api/posts/{post_id}", headers=headers)
    anonymous = httpx.get(f"{node_b.url}/api/posts/{post_id}")

    assert created.status_code == 201
    assert own_read.status_code == 200
    assert own_read.json()["title"] == "no redis"
    assert anonymous.status_code == 404  # the replica lags; reads still work without Redis
    assert "Shared cache unavailable" in node_a.log() + node_b.log()
