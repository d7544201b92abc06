"""supabase_local_init on a plain Postgres: Supabase's shape, idempotent, never on Supabase.

The command runs as an operator runs it (a new process, DATABASE_URL) against a cluster this
module starts from nothing, so "plain" really means no Supabase role, schema or grant yet (the
suite's own cluster was initialised long before). Roles are cluster-wide: tests that create one
drop it again.
"""

import shutil
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from supabase_auth.local import embedded
from tests.subprocess_django import PRODUCTION_ENV, run_django

API_ROLES = ["anon", "authenticated", "authenticator", "service_role"]
# What a database holds: roles (cluster-wide), schemas, relations, functions, their grants,
# default privileges, publications and role memberships, each as comparable rows.
CATALOG = {
    "roles": """
        select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
               rolbypassrls, array(select unnest(rolconfig) order by 1)::text
        from pg_roles where rolname not like 'pg\\_%' order by rolname""",
    "members": """
        select roleid::regrole::text, member::regrole::text from pg_auth_members
        where roleid::regrole::text not like 'pg\\_%' order by 1, 2""",
    "schemas": """
        select nspname, nspacl::text, obj_description(oid, 'pg_namespace') from pg_namespace
        where nspname not like 'pg\\_%' and nspname <> 'information_schema' order by 1""",
    "relations": """
        select n.nspname, c.relname, c.relkind, c.relacl::text, c.relrowsecurity
        from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema' order by 1, 2""",
    "functions": """
        select n.nspname, p.proname, p.proacl::text, md5(p.prosrc)
        from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where n.nspname not like 'pg\\_%' and n.nspname <> 'information_schema' order by 1, 2""",
    "default_privileges": """
        select defaclrole::regrole::text, defaclnamespace, defaclobjtype, defaclacl::text
        from pg_default_acl order by 1, 2, 3""",
    "publications": "select pubname, puballtables from pg_publication order by 1",
}


@pytest.fixture(scope="module")
def cluster():
    """Return the socket directory of a new, empty Postgres cluster (removed afterwards).

    Not under pytest's tmp_path: as root the server runs as another user, and pytest resets
    /tmp/pytest-of-root to 0700 whenever a session starts (tests/reliability/conftest.py).
    """
    root = Path(tempfile.mkdtemp(prefix="local-init-"))
    data_dir = root / "pg"
    try:
        yield embedded.start(data_dir, disposable=True)
    finally:
        embedded.stop(data_dir)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def plain_database(cluster) -> str:
    """Return the URL of a new database made from template0: nothing of Supabase's in it."""
    name = f"plain_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(embedded.url(cluster), autocommit=True) as admin:
        admin.execute(f'create database "{name}" template template0')
    yield f"postgres://postgres@/{name}?host={quote(str(cluster))}"
    with psycopg.connect(embedded.url(cluster), autocommit=True) as admin:
        admin.execute(f'drop database "{name}" with (force)')


@pytest.fixture
def supabase_auth_admin_role(cluster):
    """Create the role only Supabase's own databases have (its Auth server's); drop it after."""
    with psycopg.connect(embedded.url(cluster), autocommit=True) as admin:
        admin.execute("create role supabase_auth_admin")
    yield
    with psycopg.connect(embedded.url(cluster), autocommit=True) as admin:
        admin.execute("drop role supabase_auth_admin")


def local_init(url: str):
    return run_django(PRODUCTION_ENV | {"DATABASE_URL": url}, "manage.py", "supabase_local_init")


def catalog(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {name: conn.execute(sql).fetchall() for name, sql in CATALOG.items()}


def scalar(url: str, sql: str, params: object = None):
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchone()[0]


def test_init_on_a_plain_postgres_makes_supabases_shape(plain_database):
    assert not scalar(plain_database, "select to_regnamespace('auth') is not null")

    result = local_init(plain_database)

    assert result.returncode == 0, result.stderr
    assert "Supabase-like schema ready on 'default'." in result.stdout
    roles = "select array_agg(rolname order by rolname) from pg_roles where rolname = any(%s)"
    assert scalar(plain_database, roles, [API_ROLES]) == API_ROLES
    assert scalar(plain_database, "select to_regclass('auth.users') is not null")
    assert scalar(plain_database, "select to_regclass('auth.sessions') is not null")
    assert scalar(plain_database, "select to_regprocedure('auth.uid()') is not null")
    assert scalar(plain_database, "select count(*) from pg_publication") == 1
    assert scalar(plain_database, "select has_schema_privilege('anon', 'auth', 'usage')")


def test_init_twice_changes_nothing_the_second_time(plain_database):
    first = local_init(plain_database)
    after_first = catalog(plain_database)

    second = local_init(plain_database)

    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    assert catalog(plain_database) == after_first
    assert after_first["publications"] == [("supabase_realtime", False)]


def test_refuses_a_database_with_the_supabase_auth_admin_role_and_changes_nothing(
    plain_database, supabase_auth_admin_role
):
    """Issue 11, item 10: the guard looked for `supabase_bridge_admin`, which does not exist."""
    others = "select count(*) from pg_roles where rolname like 'supabase%%' and rolname <> %s"
    assert scalar(plain_database, others, ["supabase_auth_admin"]) == 0  # the only evidence
    before = catalog(plain_database)

    result = local_init(plain_database)

    assert result.returncode != 0
    assert "real Supabase database (role supabase_auth_admin exists)" in result.stderr
    assert catalog(plain_database) == before
    assert not scalar(plain_database, "select to_regnamespace('auth') is not null")
