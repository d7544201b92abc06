"""config/database.py: DATABASE_URL parsed by dj-database-url, tuned for Supabase; lazy start."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.database import EMBEDDED, Tuning, database_config
from tests.subprocess_django import PRODUCTION_ENV, run_python


def test_a_supabase_host_gets_tls_unless_the_url_says_otherwise():
    plain = database_config("postgres://u:p@db.abcd.supabase.co:5432/postgres", Tuning())
    pinned = database_config(
        "postgres://u:p@db.abcd.supabase.co:5432/postgres?sslmode=verify-full", Tuning()
    )
    elsewhere = database_config("postgres://u:p@db.example.com:5432/app", Tuning())

    assert plain["OPTIONS"]["sslmode"] == "require"
    assert pinned["OPTIONS"]["sslmode"] == "verify-full"
    assert "sslmode" not in elsewhere["OPTIONS"]


def test_the_url_parts_reach_django_with_health_checks_and_max_age():
    config = database_config("postgresql://app:s%40cret@10.0.0.5:6432/app", Tuning(conn_max_age=60))

    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"], config["NAME"]) == (
        "app",
        "s@cret",
        "10.0.0.5",
        6432,
        "app",
    )
    assert (config["CONN_MAX_AGE"], config["CONN_HEALTH_CHECKS"]) == (60, True)
    assert config["ENGINE"] == "supabase_auth.postgres"


def test_a_unix_socket_url_puts_the_socket_directory_in_host():
    config = database_config("postgres://postgres@/postgres?host=/run/pg%20sock", Tuning())

    assert config["HOST"] == "/run/pg sock"
    assert "host" not in config["OPTIONS"]
    assert "keepalives" not in config["OPTIONS"]  # no TCP, no keepalives


def test_transaction_mode_has_no_prepared_statements_or_server_side_cursors():
    config = database_config("postgres://u@h:6543/db", Tuning(pool_mode="transaction"))

    assert config["OPTIONS"]["prepare_threshold"] is None
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert "options" not in config["OPTIONS"]  # no statement_timeout on a shared session


@pytest.mark.parametrize(
    ("url", "tuning", "named"),
    [
        ("mysql://u@h/db", Tuning(), "DATABASE_URL"),
        ("not a url at all", Tuning(), "DATABASE_URL"),
        ("postgres://u@h/db", Tuning(pool_mode="statement"), "DATABASE_POOL_MODE"),
    ],
)
def test_bad_settings_are_refused_naming_the_variable(url, tuning, named):
    with pytest.raises(ImproperlyConfigured, match=named):
        database_config(url, tuning)


def test_embedded_is_described_not_started(tmp_path):
    config = database_config(EMBEDDED, Tuning(), embedded_dir=tmp_path / "pg")

    assert config["EMBEDDED_POSTGRES"] == {"DATA_DIR": str(tmp_path / "pg"), "DISPOSABLE": False}
    assert not (tmp_path / "pg").exists()


def test_importing_settings_starts_no_database():
    code = (
        "import sys; from django.db import connection; connection.settings_dict;"
        "print('embedded_postgres' in sys.modules, connection.connection is None)"
    )

    result = run_python(PRODUCTION_ENV | {"DATABASE_URL": "embedded"}, code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]
