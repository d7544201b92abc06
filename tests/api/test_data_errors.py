"""A DataError is the client's 400 only when Postgres refused a value the client sent.

A value psycopg cannot load from a stored row is the server's problem: the handler leaves it to
Django's 500 (logged with its traceback), never a 400 that blames the visitor.
"""

import pytest
from django.db import DataError, connection, transaction

from api.exceptions import exception_handler


def data_error(sql: str) -> DataError:
    """Return the DataError Django raises for this statement (executing or loading its row)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
            cursor.fetchone()
    except DataError as exc:
        return exc
    raise AssertionError(f"no DataError from {sql}")


@pytest.mark.django_db
def test_a_value_postgres_refuses_is_a_400():
    refused = data_error("select 'not a number'::integer")  # SQLSTATE 22P02, from the server

    response = exception_handler(refused, {})

    assert response.status_code == 400
    assert response.data == {"non_field_errors": ["A value is out of range."]}


@pytest.mark.django_db
def test_a_stored_value_psycopg_cannot_load_is_not_blamed_on_the_client():
    unloadable = data_error("select 'infinity'::date")  # fine in Postgres, not in Python

    response = exception_handler(unloadable, {})

    assert response is None  # re-raised: Django's 500, logged with the traceback
