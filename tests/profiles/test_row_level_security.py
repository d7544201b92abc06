"""RLS and column privileges on profiles, checked through SQL as Supabase's API roles."""

import uuid

import pytest
from django.db import ProgrammingError

from profiles.models import Profile
from tests.factories import claims_for, make_auth_user


def test_user_reads_own_profile_with_email(as_role, author, other_user):
    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute("select id, email from profiles")
        rows = cursor.fetchall()

    assert rows == [(author.id, author.email)]


def test_user_cannot_read_another_users_email(as_role, author, other_user):
    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute("select email from profiles where id = %s", [other_user.id])
        rows = cursor.fetchall()

    assert rows == []


def test_anon_cannot_read_profiles(as_role, author):
    with pytest.raises(ProgrammingError, match="permission denied"), as_role("anon") as cursor:
        cursor.execute("select email from profiles")


def test_user_cannot_update_another_users_profile(as_role, author, other_user):
    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute("update profiles set name = 'hijacked' where id = %s", [other_user.id])
        updated = cursor.rowcount

    assert updated == 0
    other_user.refresh_from_db()
    assert other_user.name == "Other"


def test_user_updates_own_name(as_role, author):
    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute("update profiles set name = 'Renamed' where id = %s", [author.id])

    author.refresh_from_db()
    assert author.name == "Renamed"


def test_user_cannot_change_own_email(as_role, author):
    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        as_role("authenticated", claims_for(author)) as cursor,
    ):
        cursor.execute("update profiles set email = 'spoof@example.com' where id = %s", [author.id])

    author.refresh_from_db()
    assert author.email == "author@example.com"


def test_user_creates_own_profile_with_token_email(as_role, db):
    user = make_auth_user("new@example.com")
    claims = {"sub": str(user.id), "role": "authenticated", "email": user.email}

    with as_role("authenticated", claims) as cursor:
        cursor.execute("insert into profiles (id, email) values (%s, %s)", [user.id, user.email])

    assert Profile.objects.get(id=user.id).email == "new@example.com"


def test_user_cannot_create_a_profile_with_someone_elses_email(as_role, db):
    user = make_auth_user("honest@example.com")
    claims = {"sub": str(user.id), "role": "authenticated", "email": user.email}

    with (
        pytest.raises(ProgrammingError, match="row-level security"),
        as_role("authenticated", claims) as cursor,
    ):
        cursor.execute("insert into profiles (id, email) values (%s, 'ceo@example.com')", [user.id])

    assert not Profile.objects.filter(id=user.id).exists()


def test_user_cannot_create_a_profile_for_another_id(as_role, author):
    stranger = make_auth_user("stranger@example.com")

    with (
        pytest.raises(ProgrammingError, match="row-level security"),
        as_role("authenticated", claims_for(author)) as cursor,
    ):
        cursor.execute("insert into profiles (id, email) values (%s, %s)", [stranger.id, ""])

    assert not Profile.objects.filter(id=stranger.id).exists()


def test_profile_requires_an_auth_user(db):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Profile.objects.create(id=uuid.uuid4(), email="ghost@example.com")
