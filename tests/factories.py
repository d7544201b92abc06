"""Factories for the rows tests need: Supabase identities, profiles and posts."""

import itertools
import uuid

from django.db import connection

from posts.models import Post
from profiles.models import Profile
from supabase_auth.models import AuthUser

_sequence = itertools.count(1)


def make_auth_user(email: str | None = None, user_id: uuid.UUID | None = None) -> AuthUser:
    """Create an `auth.users` row, as Supabase Auth does at sign-up."""
    n = next(_sequence)
    return AuthUser.objects.create(
        id=user_id or uuid.uuid4(), email=email or f"user{n}@example.com"
    )


def make_session(user_id: uuid.UUID) -> uuid.UUID | None:
    """Create an `auth.sessions` row for the user, as a sign-in does; return its id.

    Return None when the user is not in `auth.users` (a deleted user has no sessions).
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "insert into auth.sessions (id, user_id, created_at, updated_at, aal) "
            "select %s, id, now(), now(), 'aal1' from auth.users where id = %s returning id",
            [uuid.uuid4(), user_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def make_profile(email: str | None = None, name: str | None = None) -> Profile:
    """Create a profile with its `auth.users` row."""
    user = make_auth_user(email)
    return Profile.objects.create(id=user.id, email=user.email, name=name)


def make_post(author: Profile, *, published: bool = False, title: str | None = None) -> Post:
    """Create a post by author."""
    n = next(_sequence)
    return Post.objects.create(
        author=author, title=title or f"Post {n}", content=f"Body {n}", published=published
    )


def claims_for(profile: Profile) -> dict:
    """Return the JWT claims PostgREST would set for this profile's user."""
    return {"sub": str(profile.id), "role": "authenticated", "email": profile.email}
