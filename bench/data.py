"""The benchmark's data, identical on both sides: users, a live session, 40 posts, tokens."""

import hashlib
import os
import sys
import time
import uuid
from pathlib import Path

import jwt
import psycopg

from tests.reliability.stack import ROOT, run_manage

DATA_DIR = ROOT / ".local" / "bench-postgres"
RESULTS = ROOT / "bench" / "results"
SECRET_KEY = "bench-django-secret-" + "f3Kq9Zr2Lw7Yt5Vm" * 3
# HS256 secret of the reference's Auth stand-in (it verifies every token it is asked about).
REFERENCE_JWT_SECRET = "bench-reference-jwt-secret-with-more-than-32-characters"  # noqa: S105
MAX_CONNECTIONS = 400  # several servers of 2 workers × threads, the reference's pools, psql

# The caller (U0) has 20 posts, 10 of them drafts; another author (U1) 10 published ones: so
# "list" is 20 rows and "me" 20 rows on both sides, even though the reference's list and
# "me" are not paginated (it returns every row).
BENCH_USER = uuid.UUID("00000000-0000-4000-8000-0000000000be")
OTHER_USER = uuid.UUID("00000000-0000-4000-8000-0000000000bf")
BENCH_SESSION = uuid.UUID("00000000-0000-4000-8000-00000000005e")
SEED_TITLES = ("Mine %", "Theirs %")

POSTS_SQL = """
insert into posts (id, author_id, title, content, published, created_at{updated})
select md5('bench-post-' || i)::uuid, %(me)s, 'Mine ' || i, repeat('Lorem ipsum. ', 1 + i %% 20),
       i %% 2 = 0, timestamptz '2026-06-01 00:00:00+00' - make_interval(secs => i){now}
from generate_series(1, 20) as i;
insert into posts (id, author_id, title, content, published, created_at{updated})
select md5('other-post-' || i)::uuid, %(other)s, 'Theirs ' || i, repeat('Dolor sit. ', 1 + i),
       true, timestamptz '2026-05-01 00:00:00+00' - make_interval(secs => i){now}
from generate_series(1, 10) as i;
"""
PROFILES_SQL = """
insert into profiles (id, email, name, created_at, updated_at) values
  (%(me)s, 'bench@bench.example', 'Bench', now(), now()),
  (%(other)s, 'other@bench.example', 'Other', now(), now());
"""
OURS_SQL = (
    """
truncate posts, profiles cascade;
delete from auth.users;
insert into auth.users (id, aud, role, email, created_at, updated_at) values
  (%(me)s, 'authenticated', 'authenticated', 'bench@bench.example', now(), now()),
  (%(other)s, 'authenticated', 'authenticated', 'other@bench.example', now(), now());
insert into auth.sessions (id, user_id, created_at, updated_at)
values (%(session)s, %(me)s, now(), now());
"""
    + PROFILES_SQL
    + POSTS_SQL.format(updated=", updated_at", now=", now()")
)
# The reference's schema.sql (SQLModel's create_all) has no updated_at on posts.
REFERENCE_SQL = (
    "drop table if exists posts, profiles;\n{schema}\n"
    + PROFILES_SQL
    + POSTS_SQL.format(updated="", now="")
)


def log(message: str) -> None:
    """Report progress on stderr (stdout carries the table)."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def django_env(supabase_url: str) -> dict:
    """Production settings, as a deployment would set them (the database comes per run)."""
    return {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ENV_FILE": os.devnull,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "SUPABASE_URL": supabase_url,
        "SUPABASE_AUTH_CHECK_SESSION": "true",
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def create_database(server_url: str, name: str) -> str:
    """Create database `name` on the server unless it exists; return its URL."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", [name]).fetchone():
            conn.execute(f'create database "{name}"')
    return server_url.replace("/postgres?", f"/{name}?")


def raise_max_connections(server_url: str) -> bool:
    """Allow MAX_CONNECTIONS clients; return whether the server must restart to apply it."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        current = int(conn.execute("show max_connections").fetchone()[0])
        if current >= MAX_CONNECTIONS:
            return False
        conn.execute(f"alter system set max_connections = {MAX_CONNECTIONS}")
    return True


def prepare_ours(server_url: str, env: dict) -> str:
    """Migrate a database for the API (Supabase's auth schema first) and seed it."""
    url = create_database(server_url, "bench_api")
    env = env | {"DATABASE_URL": url}
    run_manage(env, "supabase_local_init")
    run_manage(env, "migrate", "--noinput", "-v0")
    _seed(url, OURS_SQL)
    return url


def prepare_reference(server_url: str, schema_sql: str) -> str:
    """Create the reference's tables (its schema.sql) in a database of its own and seed it."""
    url = create_database(server_url, "bench_reference")
    _seed(url, REFERENCE_SQL.replace("{schema}", schema_sql.replace("%", "%%")))
    return url


def reset(url: str) -> None:
    """Delete what the write scenarios added, so every distance starts from the seed."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("update posts set title = 'Mine 2' where id = %s", [OWN_POST])
        conn.execute("delete from posts where title not like %s and title not like %s", SEED_TITLES)
        conn.execute("vacuum analyze posts")


def _seed(url: str, sql: str) -> None:
    # Client-side binding: the seed is several statements in one execute().
    with psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute(sql, {"me": BENCH_USER, "other": OTHER_USER, "session": BENCH_SESSION})
        conn.execute("vacuum analyze")
        conn.execute("checkpoint")  # the seed's dirty pages are not flushed during a scenario


def seeded_id(name: str) -> str:
    """Return the id the seed gave post `name` (md5(name)::uuid, as in Postgres)."""
    return str(uuid.UUID(hashlib.md5(name.encode()).hexdigest()))  # noqa: S324 - an id, not a MAC


PUBLISHED_POST = seeded_id("other-post-1")  # "one post": another author's published post
OWN_POST = seeded_id("bench-post-2")  # what PATCH rewrites (the caller's, published)


def claims(issuer: str, ttl: int) -> dict:
    """Return the caller's access-token claims, as Supabase Auth would issue them."""
    now = int(time.time())
    return {
        "iss": issuer,
        "aud": "authenticated",
        "sub": str(BENCH_USER),
        "exp": now + ttl,
        "iat": now,
        "email": "bench@bench.example",
        "phone": "",
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": str(BENCH_SESSION),
        "is_anonymous": False,
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {},
    }


def es256_token(signing_key, supabase_url: str, ttl: int = 7200) -> str:
    """Return the caller's ES256 token, signed by a key our JWKS stand-in publishes."""
    return jwt.encode(
        claims(f"{supabase_url}/auth/v1", ttl),
        signing_key.private_key,
        algorithm="ES256",
        headers={"kid": signing_key.kid},
    )


def hs256_token(supabase_url: str, ttl: int = 7200) -> str:
    """Return the caller's HS256 token for the reference (its Auth stand-in verifies it)."""
    return jwt.encode(
        claims(f"{supabase_url}/auth/v1", ttl), REFERENCE_JWT_SECRET, algorithm="HS256"
    )


def results_dir() -> Path:
    """Return bench/results/, created."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS
