"""wired_fake_supabase: the fake's auth-table writes land in the test database, or fail the test."""

import pytest
from django.db import connection, transaction

from tests.factories import make_auth_user
from tests.support.supabase_wiring import wired_fake_supabase


def auth_user_emails() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("select email from auth.users order by email")
        return [row[0] for row in cursor.fetchall()]


def test_wired_fake_writes_auth_users_and_leaves_cleanly(db, settings):
    with wired_fake_supabase(settings) as fake:
        user = fake.create_user("ada@example.com", "a-long-password")

    assert auth_user_emails() == ["ada@example.com"]
    assert fake.crashes == []
    assert str(user.id) in {str(row) for row in fake.users}


def create_user_whose_row_clashes(settings) -> None:
    with wired_fake_supabase(settings) as fake:
        existing = make_auth_user("ada@example.com")
        # The fake turns the failed insert into Supabase's "Database error saving new user".
        with pytest.raises(Exception, match="Database error saving new user"):
            fake.create_user("bob@example.com", "a-long-password", user_id=str(existing.id))


def test_failed_write_of_the_auth_tables_fails_the_test(db, settings):
    with (
        pytest.raises(AssertionError, match="writing auth tables for the fake failed"),
        transaction.atomic(),  # the failed insert aborts the transaction up to here only
    ):
        create_user_whose_row_clashes(settings)

    assert auth_user_emails() == []
