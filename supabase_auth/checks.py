"""System checks for the Supabase layer (run by `manage.py check`, `migrate` and at WSGI start)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import connections
from django.db.utils import DatabaseError

# RFC 7518 §3.2: an HMAC key must be at least as long as the hash output (256 bits for HS256).
MIN_HS256_SECRET_BYTES = 32
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@register("supabase")
def check_token_verification(app_configs, **kwargs) -> list:
    """Refuse configurations in which tokens could not be verified, or verified unsafely."""
    problems = []
    production = not settings.DEBUG
    severity = Error if production else Warning
    secret = settings.SUPABASE_JWT_SECRET
    if production and not secret and not settings.SUPABASE_JWKS_URL:
        problems.append(
            Error(
                "No key to verify Supabase tokens with.",
                hint="Set SUPABASE_URL (its JWKS is used) or SUPABASE_JWKS_URL, and/or the legacy "
                "SUPABASE_JWT_SECRET.",
                id="supabase_auth.E001",
            )
        )
    if secret and len(secret.encode()) < MIN_HS256_SECRET_BYTES:
        problems.append(
            severity(
                f"SUPABASE_JWT_SECRET is shorter than {MIN_HS256_SECRET_BYTES} bytes.",
                hint="Use the JWT secret from the Supabase dashboard (Settings > JWT Keys).",
                id="supabase_auth.E002",
            )
        )
    for name in ("SUPABASE_URL", "SUPABASE_JWKS_URL"):
        problem = _url_problem(getattr(settings, name), allow_path=name != "SUPABASE_URL")
        if problem:
            problems.append(Error(f"{name} {problem}.", id="supabase_auth.E003"))
    if production and not settings.SUPABASE_JWT_ISSUER:
        problems.append(
            Error(
                "No expected token issuer.",
                hint="Set SUPABASE_URL (issuer {SUPABASE_URL}/auth/v1) or SUPABASE_JWT_ISSUER.",
                id="supabase_auth.E004",
            )
        )
    return problems


def _url_problem(url: str, *, allow_path: bool) -> str | None:
    """Return what is wrong with a Supabase URL setting, or None (also when unset)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check (ValueError when malformed)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL such as https://<project-ref>.supabase.co"
    if parts.query or parts.fragment or parts.username or (parts.path and not allow_path):
        return "must be only a scheme, host and port, such as https://<project-ref>.supabase.co"
    if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS and not settings.DEBUG:
        return "must use https outside local development (keys and tokens travel over it)"
    return None


@register(Tags.database)
def check_django_tables_private(app_configs, databases=None, **kwargs) -> list:
    """Warn when Supabase's API roles can reach Django's tables (auth_user, django_session, ...)."""
    from supabase_auth import django_tables

    problems = []
    for alias in databases or []:
        tables = _ask(alias, django_tables.exposed)
        if tables:
            problems.append(
                Warning(
                    f"anon/authenticated can reach Django's tables: {', '.join(tables)}.",
                    hint="Run `python manage.py migrate`: it revokes these grants after migrating.",
                    obj=alias,
                    id="supabase_auth.W001",
                )
            )
    return problems


@register(Tags.database)
def check_request_roles_assumable(app_configs, databases=None, **kwargs) -> list:
    """Refuse DATABASE_RLS=enforce when the login role cannot become anon and authenticated.

    Supabase grants both to `postgres` (supabase/postgres 20230201083204); another login role
    needs `grant anon, authenticated to <role>`, or every API request would fail.
    """
    if settings.DATABASE_RLS != "enforce":
        return []
    problems = []
    for alias in databases or []:
        user, missing = _ask(alias, _api_roles_out_of_reach) or (None, [])
        if missing:
            problems.append(
                Error(
                    f"DATABASE_RLS=enforce, but {user} cannot act as {', '.join(missing)}.",
                    hint=f"grant {', '.join(missing)} to {user}; or set DATABASE_RLS=off.",
                    obj=alias,
                    id="supabase_auth.E005",
                )
            )
    return problems


def _api_roles_out_of_reach(connection) -> tuple[str, list[str]]:
    """Return the login role and the API roles it cannot become (SET ROLE needs membership)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "select current_user, array(select role from unnest(%s::text[]) as role "
            "where not exists (select from pg_roles where rolname = role) "
            "or not pg_has_role(current_user, role, 'MEMBER'))",
            [["anon", "authenticated"]],
        )
        return cursor.fetchone()


def _ask(alias: str, probe):
    """Return probe(connection), or None when the database cannot be reached.

    An unreachable database is reported by Django's own checks, not as our finding.
    """
    try:
        return probe(connections[alias])
    except DatabaseError:
        return None
