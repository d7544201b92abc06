"""The database backend's health check: free for a healthy connection, right for a dead one."""

from datetime import UTC, datetime

import pytest
from django.db import DataError, connection, connections
from psycopg.pq import Format

from supabase_auth.postgres.base import TIMESTAMPTZ, UTCTimestamptzLoader


@pytest.fixture
def second_connection(db):
    """A separate connection to the test database (the test's own stays untouched)."""
    wrapper = connections.create_connection("default")
    wrapper.settings_dict["NAME"] = connection.settings_dict["NAME"]
    wrapper.ensure_connection()
    yield wrapper
    wrapper.close()


def backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("select pg_backend_pid()")
        return cursor.fetchone()[0]


def test_backend_is_ours(second_connection):
    assert type(second_connection).__module__ == "supabase_auth.postgres.base"


def test_healthy_idle_connection_is_usable(second_connection):
    backend_pid(second_connection)

    assert second_connection.is_usable() is True


def test_connection_the_server_ended_is_not_usable(second_connection):
    pid = backend_pid(second_connection)
    with connection.cursor() as cursor:
        cursor.execute("select pg_terminate_backend(%s, 5000)", [pid])

    assert second_connection.is_usable() is False


def test_closed_connection_is_not_usable(second_connection):
    second_connection.connection.close()

    assert second_connection.is_usable() is False


def test_health_check_replaces_a_connection_the_server_ended(second_connection):
    pid = backend_pid(second_connection)
    with connection.cursor() as cursor:
        cursor.execute("select pg_terminate_backend(%s, 5000)", [pid])
    second_connection.health_check_enabled = True
    second_connection.health_check_done = False

    assert backend_pid(second_connection) != pid  # reconnected instead of failing the query


@pytest.mark.django_db
def test_timestamps_load_as_aware_utc_datetimes_with_psycopgs_loader():
    """The C loader replaces Django's Python one; values must be what Django's would give."""
    with connection.cursor() as cursor:
        cursor.execute(
            "select '2026-03-01 10:00:00.123456+05:30'::timestamptz, null::timestamptz, "
            "'0001-01-01 00:00:00+00'::timestamptz"
        )
        moment, missing, earliest = cursor.fetchone()
        loader = cursor.cursor.adapters.get_loader(TIMESTAMPTZ, Format.TEXT)

    assert loader is UTCTimestamptzLoader
    assert moment == datetime(2026, 3, 1, 4, 30, 0, 123456, tzinfo=UTC)
    assert moment.tzinfo is UTC
    assert missing is None
    assert earliest == datetime(1, 1, 1, tzinfo=UTC)


@pytest.mark.django_db
def test_an_out_of_range_timestamp_is_a_database_error_as_with_djangos_loader():
    with connection.cursor() as cursor:
        cursor.execute("select 'infinity'::timestamptz")
        with pytest.raises(DataError):
            cursor.fetchone()
