"""DATABASE_RLS=enforce behind a transaction pooler (PgBouncer, pool_mode = transaction).

One server connection serves every client, as Supavisor's port 6543 lends a backend per
transaction: if any request's role or claims outlived it, the next request of another user
(or another client of the pooler) would run with them.
"""

import shutil
import tempfile
import threading
from pathlib import Path

import psycopg
import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from cluster.services import PgBouncer
from config import database
from tests.cluster.conftest import require
from tests.factories import make_post, make_profile
from tests.supabase_auth.rls_urls import IDENTITY_SQL
from tests.support.http import bearer

pytestmark = pytest.mark.urls("tests.supabase_auth.rls_urls")


@pytest.fixture
def pgbouncer(transactional_db):
    """PgBouncer in transaction mode with one server connection, in front of the test database."""
    require("pgbouncer")
    db = connection.settings_dict
    # Not pytest's tmp_path: PgBouncer runs unprivileged and must reach its files.
    root = Path(tempfile.mkdtemp(prefix="rls-pooler-"))
    root.chmod(0o755)
    bouncer = PgBouncer(root / "pgbouncer", {"*": Path(db["HOST"])}, pool_size=1).start()
    yield bouncer.url(db["NAME"])
    bouncer.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pooled(pgbouncer, settings):
    """Point Django at the pooler with the transaction-mode tuning, in enforce mode."""
    settings.DATABASE_RLS = "enforce"
    pooled = database.database_config(pgbouncer, database.Tuning(pool_mode="transaction"))
    shared = connection.settings_dict  # the one dict every thread's connection reads
    saved = dict(shared)
    connection.close()
    shared.pop("EMBEDDED_POSTGRES", None)  # it would point the backend at the server's socket
    shared.update({key: pooled[key] for key in ("HOST", "PORT", "OPTIONS")})
    shared["DISABLE_SERVER_SIDE_CURSORS"] = True
    yield pgbouncer
    connections.close_all()
    shared.clear()
    shared.update(saved)


def backend_state(url: str) -> tuple:
    """Return whom the pooled backend runs as, read by another client of the pooler."""
    with psycopg.connect(url, autocommit=True, prepare_threshold=None) as conn:
        return conn.execute(IDENTITY_SQL).fetchone()


def test_another_client_of_the_pooler_finds_the_backend_clean(pooled, author, token_for):
    make_post(author, published=False)
    client = APIClient()
    client.credentials(**bearer(token_for(author)))

    mine = client.get("/api/posts/me")
    identity = client.get("/api/database-identity")

    assert mine.status_code == 200
    assert len(mine.json()["results"]) == 1  # the draft: RLS let its author read it
    assert identity.json()["user"] == "authenticated"
    assert backend_state(pooled) == ("postgres", None, None, "", "", "")


def test_concurrent_users_share_one_backend_without_sharing_roles(pooled, token_for):
    users = [make_profile(f"pooled{n}@example.com") for n in range(3)]
    tokens = {user.id: token_for(user) for user in users}
    seen: dict[str, set] = {}

    def run(user_id) -> None:
        client = APIClient()
        if user_id is not None:
            client.credentials(**bearer(tokens[user_id]))
        answers = set()
        for _ in range(15):
            body = client.get("/api/database-identity").json()
            answers.add((body["user"], body["uid"]))
        connections.close_all()
        seen[str(user_id)] = answers

    threads = [threading.Thread(target=run, args=(user.id,)) for user in users]
    threads.append(threading.Thread(target=run, args=(None,)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert seen == {
        **{str(user.id): {("authenticated", str(user.id))} for user in users},
        "None": {("anon", None)},
    }
    assert backend_state(pooled) == ("postgres", None, None, "", "", "")
