"""Start-up in production mode: missing or unsafe settings stop it, naming the variable."""

import pytest

from tests.subprocess_django import PRODUCTION_ENV, run_django, run_python


def without(name: str) -> dict[str, str]:
    return {k: v for k, v in PRODUCTION_ENV.items() if k != name}


@pytest.mark.parametrize("name", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS", "DATABASE_URL"])
def test_missing_production_setting_stops_start_up(name):
    result = run_python(without(name), "")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr


@pytest.mark.parametrize("secret", ["short", "django-insecure-" + "a" * 60, "a" * 60])
def test_unsafe_secret_key_stops_start_up(secret):
    result = run_python(PRODUCTION_ENV | {"DJANGO_SECRET_KEY": secret}, "")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is unsafe" in result.stderr


def test_unknown_pool_mode_stops_start_up():
    result = run_python(PRODUCTION_ENV | {"DATABASE_POOL_MODE": "statement"}, "")

    assert result.returncode != 0
    assert "DATABASE_POOL_MODE" in result.stderr


def test_non_postgres_database_url_stops_start_up():
    result = run_python(PRODUCTION_ENV | {"DATABASE_URL": "sqlite:///db.sqlite3"}, "")

    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_debug_mode_starts_with_no_configuration_but_the_database():
    result = run_python(
        {"DJANGO_DEBUG": "true", "DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"]},
        "from django.conf import settings; print(settings.SECRET_KEY[:8], settings.DEBUG)",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["dev-only", "True"]


def test_check_deploy_passes_with_production_settings():
    result = run_django(PRODUCTION_ENV, "manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr


def test_transaction_pool_mode_disables_prepared_statements_and_server_side_cursors():
    env = PRODUCTION_ENV | {
        "DATABASE_URL": "postgres://postgres.ref:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
        "DATABASE_POOL_MODE": "transaction",
    }
    code = (
        "from django.conf import settings; db = settings.DATABASES['default']; "
        "print(db['DISABLE_SERVER_SIDE_CURSORS'], db['OPTIONS']['prepare_threshold'], "
        "db['OPTIONS']['sslmode'], db['CONN_HEALTH_CHECKS'], db['PORT'])"
    )

    result = run_python(env, code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "None", "require", "True", "6543"]


def test_session_mode_keeps_server_side_cursors():
    code = (
        "from django.conf import settings; db = settings.DATABASES['default']; "
        "print(db.get('DISABLE_SERVER_SIDE_CURSORS', False), 'sslmode' in db['OPTIONS'])"
    )

    result = run_python(PRODUCTION_ENV, code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


# --- Supabase's JWT secret: the CLI's public one only for a local stack -------------------

DEV_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
REAL_PROJECT = "https://abcdefghijklmnop.supabase.co"
PRINT_SECRET = "from django.conf import settings; print(repr(settings.SUPABASE_JWT_SECRET))"


def debug_env(**variables: str) -> dict[str, str]:
    return {"DJANGO_DEBUG": "true", "DATABASE_URL": PRODUCTION_ENV["DATABASE_URL"]} | variables


def test_debug_on_a_real_project_without_a_jwt_secret_stops_start_up():
    # With the public secret anyone could sign a token for any author (ids are public).
    result = run_python(debug_env(SUPABASE_URL=REAL_PROJECT), PRINT_SECRET)

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SUPABASE_JWT_SECRET must be set when SUPABASE_URL is not a loopback" in result.stderr


@pytest.mark.parametrize("secret", ["a-legacy-jwt-secret-with-more-than-32-characters", ""])
def test_debug_on_a_real_project_uses_the_jwt_secret_it_is_given(secret):
    result = run_python(
        debug_env(SUPABASE_URL=REAL_PROJECT, SUPABASE_JWT_SECRET=secret), PRINT_SECRET
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(secret)


@pytest.mark.parametrize(
    "url", [None, "http://127.0.0.1:54321", "http://localhost:54321", "http://[::1]:54321"]
)
def test_debug_on_a_local_stack_uses_the_cli_secret(url):
    env = debug_env() if url is None else debug_env(SUPABASE_URL=url)

    result = run_python(env, PRINT_SECRET)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == repr(DEV_JWT_SECRET)


@pytest.mark.parametrize(
    "env",
    [
        pytest.param(PRODUCTION_ENV | {"SUPABASE_JWT_SECRET": DEV_JWT_SECRET}, id="production"),
        pytest.param(
            debug_env(SUPABASE_URL=REAL_PROJECT, SUPABASE_JWT_SECRET=DEV_JWT_SECRET), id="debug"
        ),
    ],
)
def test_cli_secret_set_for_a_real_project_stops_start_up(env):
    result = run_python(env, PRINT_SECRET)

    assert result.returncode != 0
    assert "SUPABASE_JWT_SECRET is the Supabase CLI's public development secret" in result.stderr


# --- defaults of the authentication settings -------------------------------------------


def test_production_defaults_check_sessions_and_keep_anonymous_sign_ins_read_only():
    code = (
        "from django.conf import settings; "
        "print(settings.SUPABASE_AUTH_CHECK_SESSION, settings.API_ANONYMOUS_SIGN_IN_WRITES, "
        "settings.SUPABASE_JWKS_WAIT)"
    )

    result = run_python(PRODUCTION_ENV, code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "0.5"]


@pytest.mark.parametrize("wait", ["-1", "2", "30"])
def test_jwks_wait_as_long_as_the_fetch_stops_start_up(wait):
    result = run_python(PRODUCTION_ENV | {"SUPABASE_JWKS_WAIT": wait}, "")

    assert result.returncode != 0
    assert "SUPABASE_JWKS_WAIT is unsafe" in result.stderr


@pytest.mark.parametrize("seconds", ["0", "-1", "3600"])
def test_unsafe_server_read_timeout_stops_start_up(seconds):
    result = run_python(PRODUCTION_ENV | {"SERVER_READ_TIMEOUT": seconds}, "")

    assert result.returncode != 0
    assert "SERVER_READ_TIMEOUT is unsafe" in result.stderr


def test_unknown_rls_mode_stops_start_up():
    result = run_python(PRODUCTION_ENV | {"DATABASE_RLS": "on"}, "")

    assert result.returncode != 0
    assert "DATABASE_RLS must be 'off' or 'enforce'" in result.stderr


def test_rls_is_off_unless_enforced():
    code = "from django.conf import settings; print(settings.DATABASE_RLS)"

    enforced = run_python(PRODUCTION_ENV | {"DATABASE_RLS": "enforce"}, code)

    assert run_python(PRODUCTION_ENV, code).stdout.strip() == "off"
    assert enforced.stdout.strip() == "enforce"
