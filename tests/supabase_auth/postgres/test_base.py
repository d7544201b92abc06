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
@pytest.mark.parametrize(
    ("value", "loaded"),
    [
        ("'infinity'::timestamptz", datetime.max.replace(tzinfo=UTC)),
        ("'-infinity'::timestamptz", datetime.min.replace(tzinfo=UTC)),
        ("'10000-01-01 00:00:00+00'::timestamptz", datetime.max.replace(tzinfo=UTC)),
        ("'294276-12-31 23:59:59+00'::timestamptz", datetime.max.replace(tzinfo=UTC)),
        ("'0044-03-15 12:00:00+00 BC'::timestamptz", datetime.min.replace(tzinfo=UTC)),
        ("'infinity'::timestamp", datetime.max),
        ("'-infinity'::timestamp", datetime.min),
        ("'10000-01-01 00:00:00'::timestamp", datetime.max),
        ("'0001-01-01 00:00:00 BC'::timestamp", datetime.min),
    ],
)
def test_timestamps_beyond_pythons_range_load_as_its_far_ends(value, loaded):
    """A stored value Python cannot hold is clamped, never a DataError for whoever reads it."""
    with connection.cursor() as cursor:
        cursor.execute(f"select {value}, '2026-03-01 10:00:00+00'::timestamptz")
        clamped, normal = cursor.fetchone()

    assert clamped == loaded
    assert clamped.tzinfo is loaded.tzinfo
    assert normal == datetime(2026, 3, 1, 10, tzinfo=UTC)


@pytest.mark.django_db
def test_a_date_python_cannot_hold_is_still_a_database_error():
    """Only timestamps are clamped: other types keep psycopg's behaviour."""
    with connection.cursor() as cursor:
        cursor.execute("select 'infinity'::date")
        with pytest.raises(DataError, match="date too large"):
            cursor.fetchone()
