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


@pytest.mark.parametrize("seconds", ["0", "-1", "3600"])
def test_unsafe_server_read_timeout_stops_start_up(seconds):
    result = run_python(PRODUCTION_ENV | {"SERVER_READ_TIMEOUT": seconds}, "")

    assert result.returncode != 0
    assert "SERVER_READ_TIMEOUT is unsafe" in result.stderr
