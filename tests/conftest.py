"""Fixtures shared by the whole suite."""

import json
from contextlib import contextmanager

import pytest
from django.db import connection, transaction

from tests.factories import make_post, make_profile

# Role-named API clients (author_client, other_user_client, anon_client) and token helpers.
pytest_plugins = ["tests.support.api_clients"]


@pytest.fixture
def author(db):
    return make_profile("author@example.com", name="Author")


@pytest.fixture
def other_user(db):
    return make_profile("other@example.com", name="Other")


@pytest.fixture
def author_posts(author):
    """One published post and one draft by `author`."""
    return make_post(author, published=True), make_post(author, published=False)


@pytest.fixture
def drafts_and_published(author, other_user):
    """A published post and a draft by `author`, and the same by `other_user`."""
    return {
        "author_published": make_post(author, published=True),
        "author_draft": make_post(author, published=False),
        "other_published": make_post(other_user, published=True),
        "other_draft": make_post(other_user, published=False),
    }


@contextmanager
def _as_role(role: str, claims: dict | None = None):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"set local role {role}")
        if claims is not None:
            cursor.execute(
                "select set_config('request.jwt.claims', %s, true)", [json.dumps(claims)]
            )
        yield cursor
        cursor.execute("reset role; select set_config('request.jwt.claims', '', true)")


@pytest.fixture
def as_role(db):
    """Run SQL as a Supabase API role, with JWT claims set the way PostgREST sets them.

    Usage: `with as_role("authenticated", {"sub": ..., "role": "authenticated"}) as cursor:`.
    An error inside rolls back to before the role switch.
    """
    return _as_role


@pytest.fixture
def committed_db(transactional_db):
    """Really commit (other connections must see the rows: live servers, threads).

    Afterwards delete the auth.users rows the test made: Django's flush skips that unmanaged
    table, so they would outlive the test.
    """
    from supabase_auth.models import AuthUser

    before = set(AuthUser.objects.values_list("id", flat=True))
    yield
    AuthUser.objects.exclude(id__in=before).delete()
