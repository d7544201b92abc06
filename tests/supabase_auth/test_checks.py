"""System checks on token verification settings, and the WSGI start that enforces them."""

import socket

import pytest
from django.core.checks import Error, Warning

from supabase_auth.checks import check_request_roles_assumable, check_token_verification
from tests.subprocess_django import PRODUCTION_ENV, run_python

GOOD_SECRET = "a-legacy-jwt-secret-with-more-than-32-characters"


@pytest.fixture
def production(settings):
    """A complete, safe production configuration, for each test to break one way."""
    settings.DEBUG = False
    settings.SUPABASE_URL = "https://abcdefghijklmnop.supabase.co"
    settings.SUPABASE_JWKS_URL = (
        "https://abcdefghijklmnop.supabase.co/auth/v1/.well-known/jwks.json"
    )
    settings.SUPABASE_JWT_ISSUER = "https://abcdefghijklmnop.supabase.co/auth/v1"
    settings.SUPABASE_JWT_SECRET = GOOD_SECRET
    return settings


def ids(problems) -> list[str]:
    return [problem.id for problem in problems]


def test_good_production_configuration_has_no_problems(production):
    assert check_token_verification(None) == []


def test_jwks_alone_is_enough_in_production(production):
    production.SUPABASE_JWT_SECRET = ""

    assert check_token_verification(None) == []


def test_no_key_at_all_is_e001(production):
    production.SUPABASE_JWT_SECRET = ""
    production.SUPABASE_JWKS_URL = ""

    problems = check_token_verification(None)

    assert ids(problems) == ["supabase_auth.E001"]
    assert isinstance(problems[0], Error)
    assert "SUPABASE_JWT_SECRET" in problems[0].hint


def test_no_key_is_tolerated_in_debug(production):
    production.DEBUG = True
    production.SUPABASE_JWT_SECRET = ""
    production.SUPABASE_JWKS_URL = ""

    assert check_token_verification(None) == []


def test_short_secret_is_an_e002_error_in_production(production):
    production.SUPABASE_JWT_SECRET = "x" * 31

    problems = check_token_verification(None)

    assert ids(problems) == ["supabase_auth.E002"]
    assert isinstance(problems[0], Error)


def test_short_secret_is_only_a_warning_in_debug(production):
    production.DEBUG = True
    production.SUPABASE_JWT_SECRET = "short"

    problems = check_token_verification(None)

    assert ids(problems) == ["supabase_auth.E002"]
    assert type(problems[0]) is Warning


def test_secret_of_exactly_32_bytes_is_accepted(production):
    production.SUPABASE_JWT_SECRET = "x" * 32

    assert check_token_verification(None) == []


@pytest.mark.parametrize(
    "url",
    [
        "supabase.co",
        "ftp://x",
        "https://x.supabase.co/path",
        "https://x:99999",
        "http://x.supabase.co",
        "https://user@x.supabase.co",
        "https://x.supabase.co?ref=1",
        "https://",
    ],
)
def test_malformed_supabase_url_is_e003(production, url):
    production.SUPABASE_URL = url

    problems = check_token_verification(None)

    assert ids(problems) == ["supabase_auth.E003"]
    assert problems[0].msg.startswith("SUPABASE_URL ")


@pytest.mark.parametrize("url", ["http://127.0.0.1:54321", "http://localhost:54321"])
def test_local_http_supabase_url_is_accepted(production, url):
    production.SUPABASE_URL = url

    assert check_token_verification(None) == []


def test_plain_http_is_accepted_in_debug(production):
    production.DEBUG = True
    production.SUPABASE_URL = "http://x.supabase.co"

    assert check_token_verification(None) == []


def test_malformed_jwks_url_is_e003(production):
    production.SUPABASE_JWKS_URL = "http://x.supabase.co/auth/v1/.well-known/jwks.json"

    problems = check_token_verification(None)

    assert ids(problems) == ["supabase_auth.E003"]
    assert problems[0].msg.startswith("SUPABASE_JWKS_URL ")


def test_empty_issuer_is_e004_in_production(production):
    production.SUPABASE_JWT_ISSUER = ""

    assert ids(check_token_verification(None)) == ["supabase_auth.E004"]


def test_empty_issuer_is_tolerated_in_debug(production):
    production.DEBUG = True
    production.SUPABASE_JWT_ISSUER = ""

    assert check_token_verification(None) == []


def test_wsgi_refuses_to_start_without_a_way_to_verify_tokens():
    env = {
        name: value
        for name, value in PRODUCTION_ENV.items()
        if name not in ("SUPABASE_JWT_SECRET", "SUPABASE_URL")
    }

    result = run_python(env, "import config.wsgi")

    assert result.returncode != 0
    assert "SystemCheckError" in result.stderr
    assert "supabase_auth.E001" in result.stderr


def test_wsgi_starts_with_a_good_configuration_even_if_the_jwks_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    env = PRODUCTION_ENV | {
        "SUPABASE_JWKS_URL": f"http://127.0.0.1:{closed_port}/auth/v1/.well-known/jwks.json"
    }

    result = run_python(env, "import config.wsgi\nprint('started')")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


@pytest.fixture
def login_role_without_api_roles(db):
    """Run the check's queries as a role that was never granted anon or authenticated."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("create role rls_check_probe nologin; set local role rls_check_probe")
    yield
    with connection.cursor() as cursor:
        cursor.execute("reset role")


def test_enforced_rls_with_a_login_role_that_cannot_act_as_the_api_roles_is_e005(
    settings, login_role_without_api_roles
):
    settings.DATABASE_RLS = "enforce"

    problems = check_request_roles_assumable(None, databases=["default"])

    assert [(p.id, p.msg) for p in problems] == [
        (
            "supabase_auth.E005",
            "DATABASE_RLS=enforce, but rls_check_probe cannot act as anon, authenticated.",
        )
    ]


def test_enforced_rls_with_the_owner_role_passes(settings, db):
    settings.DATABASE_RLS = "enforce"

    assert check_request_roles_assumable(None, databases=["default"]) == []


def test_rls_off_needs_no_api_roles(settings, login_role_without_api_roles):
    settings.DATABASE_RLS = "off"

    assert check_request_roles_assumable(None, databases=["default"]) == []
