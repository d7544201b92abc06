"""Diagnose a deployment's Supabase wiring: database, schema, RLS, keys, Auth, Storage."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import jwt
from django.conf import settings
from django.db import DatabaseError, connection

from supabase_auth import django_tables, keys, tokens
from supabase_auth.local import schema as local_schema
from supabase_auth.services.clients import http_pool

OK, WARN, FAIL, SKIP = "ok", "warn", "FAIL", "skip"
RLS_TABLES = {"profiles": 4, "posts": 5}  # table: policies its migration creates


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    detail: str


def run(token: str | None = None) -> Iterator[Finding]:
    """Yield one finding per check, in order; a failing check never stops the others."""
    checks: list[tuple[str, Callable[[], tuple[str, str]]]] = [
        ("database", _database),
        ("auth schema", _auth_schema),
        ("row-level security", _row_level_security),
        ("Django tables private", _django_tables),
        ("realtime publication", _realtime),
        ("signing keys (JWKS)", _jwks),
        ("token", lambda: _token(token)),
        ("Supabase Auth health", _auth_health),
        ("avatars bucket", _avatars_bucket),
    ]
    for name, check in checks:
        try:
            status, detail = check()
        except DatabaseError as exc:
            status, detail = FAIL, f"database error: {exc}".strip()
        yield Finding(name, status, detail)


def _database() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("select current_user, current_setting('server_version')")
        user, version = cursor.fetchone()
    host = str(connection.settings_dict.get("HOST") or "local socket")
    port = str(connection.settings_dict.get("PORT") or "5432")
    mode = settings.DATABASE_POOL_MODE
    if host.startswith("/"):
        kind = "local socket (embedded or local Postgres)"
    elif "pooler.supabase.com" in host:
        kind = f"Supavisor {'transaction' if port == '6543' else 'session'} pooler"
    elif host.endswith(".supabase.co"):
        kind = "direct" if port == "5432" else "dedicated pooler (transaction mode)"
    else:
        kind = f"{host}:{port}"
    detail = f"Postgres {version} as {user}; {kind}; DATABASE_POOL_MODE={mode}"
    if port == "6543" and mode != "transaction":
        return (
            FAIL,
            detail + " (port 6543 is a transaction pooler: set DATABASE_POOL_MODE=transaction)",
        )
    return OK, detail


def _auth_schema() -> tuple[str, str]:
    if not local_schema.has_auth_schema(connection):
        return FAIL, "no auth schema: not Supabase; run `manage.py supabase_local_init`"
    evidence = local_schema.supabase_evidence(connection)
    return OK, f"Supabase ({evidence})" if evidence else "made by supabase_local_init"


def _row_level_security() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "select c.relname, c.relrowsecurity, "
            "(select count(*) from pg_policies p where p.tablename = c.relname) "
            "from pg_class c where c.relname = any(%s) and c.relkind = 'r' "
            "and pg_table_is_visible(c.oid)",
            [list(RLS_TABLES)],
        )
        rows = {name: (enabled, policies) for name, enabled, policies in cursor.fetchall()}
    problems = []
    for table, expected in RLS_TABLES.items():
        enabled, policies = rows.get(table, (False, 0))
        if table not in rows:
            problems.append(f"{table} missing (run migrate)")
        elif not enabled or policies < expected:
            problems.append(f"{table}: RLS {'on' if enabled else 'OFF'}, {policies} policies")
    if problems:
        return FAIL, "; ".join(problems)
    return OK, ", ".join(f"{t}: RLS on, {rows[t][1]} policies" for t in RLS_TABLES)


def _django_tables() -> tuple[str, str]:
    exposed = django_tables.exposed(connection)
    if exposed:
        return FAIL, "anon/authenticated can reach " + ", ".join(exposed) + " (run migrate)"
    return OK, "anon and authenticated have no access to Django's tables"


def _realtime() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "select exists (select from pg_publication where pubname = 'supabase_realtime'), "
            "exists (select from pg_publication_tables where pubname = 'supabase_realtime' "
            "and tablename = 'posts')"
        )
        publication, member = cursor.fetchone()
    if not publication:
        return WARN, "no supabase_realtime publication (Realtime is not set up)"
    if not member:
        return WARN, "posts is not in supabase_realtime (run migrate)"
    return OK, "posts is in supabase_realtime"


def _jwks() -> tuple[str, str]:
    secret = "HS256 secret set" if settings.SUPABASE_JWT_SECRET else "no HS256 secret"
    if not settings.SUPABASE_JWKS_URL:
        status = OK if settings.SUPABASE_JWT_SECRET else FAIL
        return status, f"no JWKS URL; {secret}"
    try:
        response = http_pool().get(
            settings.SUPABASE_JWKS_URL, timeout=settings.SUPABASE_JWKS_TIMEOUT
        )
        response.raise_for_status()
        found = keys.parse_jwks(response.json())
    except (httpx.HTTPError, ValueError, keys.JWKSUnavailable) as exc:
        return FAIL, f"{settings.SUPABASE_JWKS_URL}: {type(exc).__name__}: {exc}; {secret}"
    if not found:
        status = OK if settings.SUPABASE_JWT_SECRET else FAIL
        return status, f"JWKS has no asymmetric keys (legacy HS256 project?); {secret}"
    listed = ", ".join(f"{kid} ({key.algorithm})" for kid, key in found.items())
    return OK, f"{len(found)} key(s): {listed}; {secret}"


def _token(token: str | None) -> tuple[str, str]:
    if not token:
        return SKIP, "pass --token <access token> to verify a real token"
    try:
        claims = tokens.verify(token)
    except tokens.TokenError as exc:
        detail = f"{exc.code}: {exc.message}"
        try:
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            issuer = None
        if issuer and issuer != settings.SUPABASE_JWT_ISSUER:
            detail += f" (token iss {issuer!r}, expected {settings.SUPABASE_JWT_ISSUER!r})"
        return FAIL, detail
    return OK, f"valid: sub {claims.sub}, issuer matches {settings.SUPABASE_JWT_ISSUER}"


def _auth_health() -> tuple[str, str]:
    if not settings.SUPABASE_URL:
        return SKIP, "SUPABASE_URL is not set"
    url = f"{settings.SUPABASE_URL}/auth/v1/health"
    try:
        response = http_pool().get(url, headers={"apikey": settings.SUPABASE_ANON_KEY})
    except httpx.HTTPError as exc:
        return FAIL, f"{url}: {type(exc).__name__}: {exc}"
    if response.status_code != 200:
        return FAIL, f"{url}: HTTP {response.status_code}"
    return OK, f"{urlsplit(url).netloc} answers"


def _avatars_bucket() -> tuple[str, str]:
    key = settings.SUPABASE_SERVICE_ROLE_KEY
    if not settings.SUPABASE_URL or not key:
        return SKIP, "needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY"
    bucket = settings.SUPABASE_AVATARS_BUCKET
    url = f"{settings.SUPABASE_URL}/storage/v1/bucket/{bucket}"
    try:
        response = http_pool().get(url, headers={"apikey": key, "Authorization": f"Bearer {key}"})
    except httpx.HTTPError as exc:
        return FAIL, f"{url}: {type(exc).__name__}: {exc}"
    body = (
        response.json()
        if response.headers.get("content-type", "").startswith("application/json")
        else {}
    )
    if response.status_code != 200 or "statusCode" in body:
        return FAIL, f"bucket {bucket!r} not found (see docs/storage-avatars.sql)"
    if not body.get("public"):
        return FAIL, f"bucket {bucket!r} is private; avatar URLs need a public bucket"
    return OK, f"bucket {bucket!r} exists and is public"
