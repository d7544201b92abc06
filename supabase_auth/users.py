"""Turn verified claims into the request's principal and its profile row, in one query.

Profiles are keyed on the token's `sub`, never on its email (emails change and can be reused).
The first request of a new user creates the profile; later ones only read it, or update the email
when the token's differs. Concurrent first requests are safe: the insert ignores conflicts and
the loser re-reads the winner's row.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection

from profiles.models import Profile
from supabase_auth.tokens import Claims

PROFILE_COLUMNS = ("id", "email", "name", "avatar_url", "created_at", "updated_at")
_COLUMNS = ", ".join(PROFILE_COLUMNS)

# One round trip, and no write (no row lock, no WAL) on the common path where the profile
# exists with the same email. `{session_alive}` is `true`, or the auth.sessions lookup; a user
# deleted from auth.users (whose sessions went with it) is told so, not that it signed out.
PROFILE_SQL = f"""
with session as (
  select {{session_alive}} as alive,
    exists (select from auth.users where id = %(id)s) as user_exists
),
existing as (select {_COLUMNS} from profiles where id = %(id)s),
inserted as (
  insert into profiles ({_COLUMNS})
  -- user_metadata is the user's to edit: its avatar is kept only if it is their own file in
  -- the project's bucket, by the function the profiles_avatar_url_own_bucket CHECK calls.
  select %(id)s, %(email)s, %(name)s,
    case when public.profile_avatar_url_ok(%(id)s, %(avatar_url)s) then %(avatar_url)s end,
    now(), now()
  where (select alive from session) and not exists (select from existing)
    -- a user deleted from auth.users gets no new profile (and no FK error that would poison
    -- an enclosing transaction)
    and exists (select from auth.users where id = %(id)s)
  on conflict (id) do nothing
  returning {_COLUMNS}
),
updated as (
  update profiles set email = %(email)s, updated_at = now()
  where id = %(id)s and (select alive from session)
    and exists (select from existing where email is distinct from %(email)s)
  returning {_COLUMNS}
)
select session.alive, session.user_exists, profile.* from session left join (
  select * from updated
  union all select * from inserted
  union all select * from existing where not exists (select from updated)
) as profile on true
"""  # noqa: S608 - only the constant column list is interpolated
SESSION_ALIVE_SQL = "exists (select from auth.sessions where id = %(session_id)s)"


class SessionRevoked(Exception):
    """The token's session no longer exists in auth.sessions (the user signed out)."""


class UnknownUser(Exception):
    """The token's user is not in auth.users (deleted after the token was issued)."""


@dataclass(frozen=True, slots=True)
class SupabaseUser:
    """The authenticated caller: a Supabase Auth user, with their profile row."""

    claims: Claims
    profile: Profile = field(compare=False)

    is_authenticated = True
    is_active = True
    is_staff = False  # staff are Django users of the admin, never derived from a token
    is_superuser = False

    @property
    def id(self) -> uuid.UUID:
        return self.claims.sub

    @property
    def pk(self) -> uuid.UUID:
        """Return the id, under the name DRF's throttles and Django's helpers look for."""
        return self.claims.sub

    @property
    def email(self) -> str:
        return self.claims.email

    @property
    def role(self) -> str:
        return self.claims.role

    @property
    def aal(self) -> str:
        return self.claims.aal

    @property
    def amr(self) -> tuple:
        return self.claims.amr

    @property
    def is_anonymous(self) -> bool:
        """Return whether Supabase's anonymous sign-in made this user (not Django's anonymous)."""
        return self.claims.is_anonymous

    @property
    def session_id(self) -> uuid.UUID | None:
        return self.claims.session_id

    @property
    def app_metadata(self) -> Mapping:
        return self.claims.app_metadata

    @property
    def user_metadata(self) -> Mapping:
        return self.claims.user_metadata

    def get_username(self) -> str:
        return str(self.id)

    def __str__(self) -> str:
        return self.email or str(self.id)


def user_for(claims: Claims, *, check_session: bool | None = None) -> SupabaseUser:
    """Return the principal for verified claims, creating or syncing its profile.

    With check_session (default: SUPABASE_AUTH_CHECK_SESSION), a token whose session is no
    longer in auth.sessions is refused: signing out then ends the access token at once.
    """
    if check_session is None:
        check_session = settings.SUPABASE_AUTH_CHECK_SESSION
    if check_session and claims.session_id is None:
        raise SessionRevoked("Token has no session.")
    return SupabaseUser(claims=claims, profile=_profile(claims, check_session))


def _profile(claims: Claims, check_session: bool) -> Profile:
    session_alive = SESSION_ALIVE_SQL if check_session else "true"
    sql = PROFILE_SQL.replace("{session_alive}", session_alive)
    params = {
        "id": claims.sub,
        "email": claims.email,
        "name": _metadata_text(claims.user_metadata, "full_name", "name"),
        "avatar_url": _metadata_text(claims.user_metadata, "avatar_url", "picture"),
        "session_id": claims.session_id,
    }
    for _ in range(2):  # a second pass only when a concurrent first request won the insert
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                alive, user_exists, *values = cursor.fetchone()
        except IntegrityError as exc:
            # The auth.users row vanished between the check above and the insert.
            raise UnknownUser("User no longer exists.") from exc
        if not alive and not user_exists:
            raise UnknownUser("User no longer exists.")
        if not alive:
            raise SessionRevoked("Session has ended.")
        if values[0] is not None:
            return Profile.from_db(connection.alias, PROFILE_COLUMNS, values)
    raise UnknownUser("User no longer exists.")  # the profile was deleted while we looked


def _metadata_text(metadata: Mapping, *names: str) -> str | None:
    """Return the first non-empty string among user_metadata's names (OAuth providers vary)."""
    for name in names:
        value = metadata.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:1000]
    return None
