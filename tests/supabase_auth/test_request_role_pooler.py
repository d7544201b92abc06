"""DATABASE_RLS=enforce behind a transaction pooler (PgBouncer, pool_mode = transaction).

One server connection serves every client, as Supavisor's port 6543 lends a backend per
transaction: if any request's role or claims outlived it, the next request of another user
(or another client of the pooler) would run with them.
"""

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connection, connections
from rest_framework.test import APIClient

from config import database
from tests.factories import make_post, make_profile
from tests.supabase_auth.rls_urls import IDENTITY_SQL
from tests.support.http import bearer

pytestmark = pytest.mark.urls("tests.supabase_auth.rls_urls")

PGBOUNCER_INI = """
[databases]
{name} = host={socket_dir} port={server_port} dbname={name}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {users}
pool_mode = transaction
default_pool_size = 1
max_client_conn = 100
ignore_startup_parameters = extra_float_digits,options
"""


def pgbouncer_program() -> str:
    program = shutil.which("pgbouncer")
    if program is None:
        message = "pgbouncer is not installed (apt-get install pgbouncer)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return program


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def pgbouncer(tmp_path, transactional_db):
    """Start PgBouncer in front of the test database, as the database's own OS user."""
    program = pgbouncer_program()
    db = connection.settings_dict
    socket_dir = Path(db["HOST"])
    port = free_port()
    tmp_path.chmod(0o755)
    users = tmp_path / "users.txt"
    users.write_text('"postgres" ""\n')
    config = tmp_path / "pgbouncer.ini"
    config.write_text(
        PGBOUNCER_INI.format(
            name=db["NAME"],
            socket_dir=socket_dir,
            server_port=db["PORT"] or 5432,
            port=port,
            users=users,
        )
    )
    for path in (users, config):
        path.chmod(0o644)
    command = [program, str(config)]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        command[1:1] = ["-u", socket_dir.owner()]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"PgBouncer did not start: {process.stdout.read().decode()}")
            time.sleep(0.05)
    yield f"postgres://postgres@127.0.0.1:{port}/{db['NAME']}"
    process.terminate()
    process.wait(timeout=10)


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
