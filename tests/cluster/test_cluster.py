"""`make test-cluster`: the `make cluster` shape, end to end, with production settings.

nginx, two API nodes, Redis, PgBouncer, a primary and a replica; run with TEST_CLUSTER=1 (as
`make test-cluster` and .ci/run do).

Supabase Auth and its JWKS are local stand-ins (tests/support); everything else is the real
program. The node-kill test runs last: it leaves one node down.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import jwt
import psutil
import pytest

from cluster import postgres
from cluster.processes import free_port
from cluster.run import ROOT, Cluster
from supabase_auth import dev_tokens
from tests.cluster.conftest import require
from tests.support.jwks_server import JWKSServer, SigningKey
from tests.support.supabase_server import FakeSupabase

ACCOUNT_LIMIT = 5
PASSWORD = "correct horse battery"
JWT_SECRET = "cluster-test-jwt-secret-with-more-than-32-characters"


@pytest.fixture(scope="module")
def supabase():
    fake = FakeSupabase(jwt_secret=JWT_SECRET).start()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def jwks():
    server = JWKSServer()
    key = SigningKey("ES256", "key-a")
    server.publish(key)
    yield server, key
    server.close()


@pytest.fixture(scope="module")
def cluster(supabase, jwks, cluster_root):
    for name in ("nginx", "redis-server", "pgbouncer"):
        require(name)
    server, _ = jwks
    env = {
        "SUPABASE_URL": supabase.url,
        "SUPABASE_ANON_KEY": supabase.anon_key,
        "SUPABASE_JWT_SECRET": JWT_SECRET,
        "SUPABASE_JWKS_URL": server.url,
        "API_THROTTLE_AUTH": "1000/minute",
        "API_THROTTLE_AUTH_ACCOUNT": f"{ACCOUNT_LIMIT}/hour",
        "DATABASE_REPLICA_RETRY_SECONDS": "2",
    }
    started = Cluster(cluster_root / "e2e", nodes=2, workers=2, env=env).start()
    yield started
    started.stop()


def user_headers(cluster: Cluster, key: SigningKey | None = None) -> tuple[uuid.UUID, dict]:
    """A user with a live session and a token (HS256, or ES256 with a JWKS key)."""
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    email = f"{user_id.hex[:10]}@example.com"
    cluster.primary.execute("insert into auth.users (id, email) values (%s, %s)", [user_id, email])
    cluster.primary.execute(
        "insert into auth.sessions (id, user_id, created_at) values (%s, %s, now())",
        [session_id, user_id],
    )
    claims = dev_tokens.user_claims(
        user_id, email, session_id=session_id, iss=f"{cluster.env['SUPABASE_URL']}/auth/v1"
    )
    if key is None:
        token = dev_tokens.sign_hs256(claims, JWT_SECRET)
    else:
        token = jwt.encode(claims, key.private_key, algorithm="ES256", headers={"kid": key.kid})
    return user_id, {"Authorization": f"Bearer {token}"}


def node_urls(cluster: Cluster) -> list[str]:
    return [f"http://{url}" for url in cluster.node_urls]


def test_signin_account_limit_holds_across_nodes(cluster, supabase):
    supabase.create_user("limit@example.com", PASSWORD)
    targets = [*node_urls(cluster), cluster.nginx.url] * 8  # 24 attempts, every way in
    statuses: list[int] = []
    start = threading.Barrier(len(targets))

    def attempt(base: str) -> None:
        start.wait()
        body = {"email": "limit@example.com", "password": PASSWORD}
        statuses.append(httpx.post(f"{base}/api/auth/signin", json=body, timeout=30).status_code)

    threads = [threading.Thread(target=attempt, args=(base,)) for base in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert Counter(statuses) == {200: ACCOUNT_LIMIT, 429: len(targets) - ACCOUNT_LIMIT}
    assert len(supabase.requests_to("/auth/v1/token")) == ACCOUNT_LIMIT


def test_key_rotated_in_the_jwks_is_accepted_by_both_nodes(cluster, jwks):
    server, old_key = jwks
    _, old = user_headers(cluster, old_key)
    warm = [httpx.get(f"{base}/api/profiles/me", headers=old) for base in node_urls(cluster)]
    new_key = SigningKey("ES256", "key-b")
    server.publish(old_key, new_key)  # rotation: the new key signs, the old one still verifies
    _, new = user_headers(cluster, new_key)

    answers = {}
    for base in node_urls(cluster):
        deadline = time.monotonic() + 30
        response = httpx.get(f"{base}/api/profiles/me", headers=new)
        while response.status_code != 200 and time.monotonic() < deadline:
            # A worker that has not seen the new kid may answer a quick 503 while it fetches.
            assert response.status_code in (401, 503), response.text
            time.sleep(0.5)
            response = httpx.get(f"{base}/api/profiles/me", headers=new)
        # Every worker of the node (each has its own key cache) then accepts it.
        answers[base] = [
            httpx.get(f"{base}/api/profiles/me", headers=new).status_code for _ in range(8)
        ]

    assert [r.status_code for r in warm] == [200, 200]
    assert answers == {base: [200] * 8 for base in node_urls(cluster)}
    assert server.requests >= 2  # each node fetched the rotated set itself


def test_redis_outage_causes_no_5xx(cluster, supabase):
    _, headers = user_headers(cluster)
    cluster.redis.stop()
    try:
        answers = []
        with httpx.Client(base_url=cluster.nginx.url, timeout=30) as client:
            for i in range(5):
                body = {"email": f"nobody{i}@example.com", "password": PASSWORD}
                answers.append(client.post("/api/auth/signin", json=body).status_code)
                created = client.post(
                    "/api/posts/", json={"title": f"r{i}", "published": True}, headers=headers
                )
                answers.append(created.status_code)
                answers.append(
                    client.get(f"/api/posts/{created.json()['id']}", headers=headers).status_code
                )
                answers.append(client.get("/api/posts/").status_code)
    finally:
        cluster.redis.start()

    assert Counter(answers) == {401: 5, 201: 5, 200: 10}


def test_replica_outage_causes_no_5xx(cluster):
    user_id, headers = user_headers(cluster)
    cluster.replica.stop()
    try:
        answers = []
        with httpx.Client(base_url=cluster.nginx.url, timeout=30) as client:
            for i in range(5):
                created = client.post(
                    "/api/posts/", json={"title": f"p{i}", "published": True}, headers=headers
                )
                answers.append(created.status_code)
                for path in (
                    "/api/posts/",
                    f"/api/posts/{created.json()['id']}",
                    f"/api/profiles/{user_id}",
                    f"/api/profiles/{user_id}/posts",
                ):
                    answers.append(client.get(path).status_code)
    finally:
        cluster.replica.start()
        postgres.resume_replay(cluster.replica)

    assert Counter(answers) == {201: 5, 200: 20}


def test_node_killed_under_write_load_loses_no_acknowledged_post(cluster):
    _, headers = user_headers(cluster)
    acknowledged: list[tuple[str, str]] = []
    failed: list[int] = []
    stop = threading.Event()

    def write(writer: int) -> None:
        with httpx.Client(base_url=cluster.nginx.url, headers=headers, timeout=30) as client:
            n = 0
            while not stop.is_set():
                title = f"w{writer}-{n}"
                n += 1
                try:
                    response = client.post("/api/posts/", json={"title": title})
                except httpx.HTTPError:
                    failed.append(0)
                    continue
                if response.status_code == 201:
                    acknowledged.append((response.json()["id"], title))
                else:
                    failed.append(response.status_code)

    writers = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in writers:
        thread.start()
    time.sleep(3)
    before_kill = len(acknowledged)
    cluster.nodes[1].kill()
    time.sleep(5)
    stop.set()
    for thread in writers:
        thread.join(timeout=60)
    after = [httpx.get(f"{cluster.nginx.url}/api/posts/", timeout=30) for _ in range(10)]

    stored = dict(
        cluster.primary.execute("select id::text, title from posts where title like 'w%%-%%'")
    )
    titles = Counter(
        title
        for (title,) in cluster.primary.execute("select title from posts where title like 'w%%-%%'")
    )
    assert before_kill > 0
    assert len(acknowledged) > before_kill  # the surviving node kept acknowledging writes
    assert all(stored.get(post_id) == title for post_id, title in acknowledged)
    assert max(titles.values()) == 1  # nginx never replayed a POST on the other node
    assert set(failed) <= {502}  # only writes in flight on the killed node, never retried
    assert [r.status_code for r in after] == [200] * 10


def test_make_cluster_stops_everything_it_started_on_ctrl_c(cluster_root):
    for name in ("nginx", "redis-server", "pgbouncer"):
        require(name)
    port = free_port()
    command = [sys.executable, "-m", "cluster.run", "--port", str(port), "--nodes", "1"]
    command += ["--workdir", str(cluster_root / "cli")]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "Ctrl-C stops it" in line:
            break
    children = psutil.Process(process.pid).children(recursive=True)
    names = {child.name() for child in children}
    health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=10)

    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=120)[0]
    _, alive = psutil.wait_procs(children, timeout=10)

    assert health.json() == {"status": "healthy"}
    assert any(f"http://127.0.0.1:{port}/api/posts/" in line for line in lines)
    assert process.returncode == 0
    assert "Cluster stopped." in output
    assert names >= {"nginx", "redis-server", "pgbouncer", "gunicorn"}  # pg_ctl daemonises Postgres
    assert alive == []
    assert not Path(cluster_root / "cli" / "primary" / "postmaster.pid").exists()
    assert not os.path.exists(cluster_root / "cli" / "replica" / "postmaster.pid")
