"""RLS and column privileges on profiles, checked through SQL as Supabase's API roles."""

import uuid
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.db import IntegrityError, ProgrammingError, connection, transaction

from profiles.models import Profile
from tests.factories import claims_for, make_auth_user

PUBLIC_COLUMNS = "id, name, avatar_url, created_at, updated_at"


def public_row(profile: Profile) -> tuple:
    return (profile.id, profile.name, profile.avatar_url, profile.created_at, profile.updated_at)


def stored(profile: Profile) -> dict:
    return Profile.objects.filter(pk=profile.pk).values().get()


def own_avatar_url(profile_id, name: str = "avatar.png") -> str:
    """Return a URL of the configured avatar bucket, as the avatar upload stores it."""
    bucket = settings.SUPABASE_AVATARS_BUCKET
    return f"{settings.SUPABASE_URL}/storage/v1/object/public/{bucket}/{profile_id}/{name}"


# --- reading --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["anon", "authenticated"])
def test_api_roles_read_the_public_columns_of_every_profile(as_role, author, other_user, role):
    claims = claims_for(author) if role == "authenticated" else None

    with as_role(role, claims) as cursor:
        cursor.execute(f"select {PUBLIC_COLUMNS} from profiles order by name")  # noqa: S608
        rows = cursor.fetchall()

    assert rows == [public_row(author), public_row(other_user)]


@pytest.mark.parametrize("role", ["anon", "authenticated"])
@pytest.mark.parametrize(
    "sql",
    [
        "select email from profiles where id = %(own)s",
        # What supabase-js's `.from("profiles").select("*")` sends: list the public columns.
        "select * from profiles",
        # A WHERE on a column needs the same SELECT privilege as reading it.
        "select id from profiles where email like 'author%%'",
    ],
    ids=["own-email", "select-star", "filter-on-email"],
)
def test_api_roles_cannot_read_emails_not_even_their_own(as_role, author, role, sql):
    claims = claims_for(author) if role == "authenticated" else None

    with (
        pytest.raises(ProgrammingError, match="permission denied for table profiles"),
        as_role(role, claims) as cursor,
    ):
        cursor.execute(sql, {"own": author.id})


def test_owner_reads_own_profile_with_email_through_my_profile(as_role, author, other_user):
    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute(
            "select id, email, name, avatar_url, created_at, updated_at from my_profile()"
        )
        rows = cursor.fetchall()

    assert rows == [
        (author.id, "author@example.com", "Author", None, author.created_at, author.updated_at)
    ]


def test_my_profile_is_empty_for_a_user_without_a_profile(as_role, author):
    stranger = make_auth_user("stranger@example.com")
    claims = {"sub": str(stranger.id), "role": "authenticated", "email": stranger.email}

    with as_role("authenticated", claims) as cursor:
        cursor.execute("select * from my_profile()")
        rows = cursor.fetchall()

    assert rows == []


def test_anon_cannot_call_my_profile(as_role, author):
    with pytest.raises(ProgrammingError, match="permission denied"), as_role("anon") as cursor:
        cursor.execute("select * from my_profile()")


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


# --- server-owned columns ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("avatar_url", "javascript:alert(1)"),
        ("updated_at", "infinity"),
        ("created_at", "2000-01-01T00:00:00Z"),
        ("id", "00000000-0000-4000-8000-000000000001"),
    ],
)
def test_user_cannot_write_server_owned_columns_of_own_profile(as_role, author, column, value):
    before = stored(author)

    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        as_role("authenticated", claims_for(author)) as cursor,
    ):
        cursor.execute(f"update profiles set {column} = %s where id = %s", [value, author.id])  # noqa: S608

    assert stored(author) == before


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("avatar_url", "javascript:alert(1)"),
        ("created_at", "infinity"),
        ("updated_at", "10000-01-01 00:00:00+00"),
    ],
)
def test_user_cannot_create_own_profile_with_server_owned_columns(as_role, db, column, value):
    user = make_auth_user("new@example.com")
    claims = {"sub": str(user.id), "role": "authenticated", "email": user.email}

    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        as_role("authenticated", claims) as cursor,
    ):
        cursor.execute(
            f"insert into profiles (id, email, {column}) values (%s, %s, %s)",  # noqa: S608
            [user.id, user.email, value],
        )

    assert not Profile.objects.filter(id=user.id).exists()


def test_profile_created_through_the_data_api_is_stamped_now(as_role, db):
    user = make_auth_user("new@example.com")
    claims = {"sub": str(user.id), "role": "authenticated", "email": user.email}

    with as_role("authenticated", claims) as cursor:
        cursor.execute("select now()")
        (now,) = cursor.fetchone()
        cursor.execute(
            "insert into profiles (id, email, name) values (%s, %s, 'New')", [user.id, user.email]
        )

    created = stored(Profile(id=user.id))
    assert (created["created_at"], created["updated_at"], created["avatar_url"]) == (now, now, None)


def test_renaming_through_the_data_api_stamps_updated_at(as_role, author, other_user):
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    Profile.objects.filter(id__in=[author.id, other_user.id]).update(updated_at=long_ago)

    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute("select now()")
        (now,) = cursor.fetchone()
        cursor.execute("update profiles set name = 'Renamed' where id = %s", [author.id])

    assert stored(author)["updated_at"] == now
    assert stored(other_user)["updated_at"] == long_ago


@pytest.mark.parametrize("value", ["infinity", "-infinity", "10000-01-01 00:00:00+00"])
@pytest.mark.parametrize("column", ["created_at", "updated_at"])
def test_timestamps_outside_the_sane_range_are_refused_even_for_the_owner(author, column, value):
    before = stored(author)

    with (
        pytest.raises(IntegrityError, match=f"profiles_{column}_range"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"update profiles set {column} = %s where id = %s", [value, author.id])  # noqa: S608

    assert stored(author) == before


# --- avatar_url: this project's own Storage bucket only -----------------------------------------


@pytest.mark.parametrize(
    "name", ["avatar.png", "avatar.jpg", "avatar.webp", "avatar.gif", "avatar.png?v=0123abcdef"]
)
def test_owner_stores_an_avatar_url_of_the_projects_bucket(author, other_user, name):
    url = own_avatar_url(author.id, name)

    Profile.objects.filter(id=author.id).update(avatar_url=url)

    assert stored(author)["avatar_url"] == url
    assert stored(other_user)["avatar_url"] is None


def test_avatar_url_can_be_cleared(author):
    Profile.objects.filter(id=author.id).update(avatar_url=own_avatar_url(author.id))

    Profile.objects.filter(id=author.id).update(avatar_url=None)

    assert stored(author)["avatar_url"] is None


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "https://evil.example.com/avatar.png",
        "",
        "{base}/storage/v1/object/public/{bucket}/{other}/avatar.png",
        "{base}/storage/v1/object/public/other-bucket/{me}/avatar.png",
        "{base}/storage/v1/object/public/{bucket}/{me}/avatar.svg",
        "{base}/storage/v1/object/public/{bucket}/{me}/avatar.png?v=x<script>",
        "{base}/storage/v1/object/public/{bucket}/{me}/avatar.png#frag",
        "{base}/storage/v1/object/public/{bucket}/{me}/../{other}/avatar.png",
        "{base}.evil.example/storage/v1/object/public/{bucket}/{me}/avatar.png",
        "{base}/storage/v1/object/public/{bucket}/{me}/avatar.png\nhttps://evil.example",
        "{base}/storage/v1/object/sign/{bucket}/{me}/avatar.png",
    ],
    ids=[
        "javascript",
        "foreign-host",
        "empty",
        "another-profiles-folder",
        "another-bucket",
        "svg",
        "bad-version",
        "fragment",
        "dot-dot",
        "host-suffix",
        "newline",
        "signed-url",
    ],
)
def test_avatar_url_outside_the_projects_bucket_is_refused_even_for_the_owner(
    author, other_user, url
):
    value = url.format(
        base=settings.SUPABASE_URL,
        bucket=settings.SUPABASE_AVATARS_BUCKET,
        me=author.id,
        other=other_user.id,
    )

    with (
        pytest.raises(IntegrityError, match="profiles_avatar_url_own_bucket"),
        transaction.atomic(),
    ):
        Profile.objects.filter(id=author.id).update(avatar_url=value)

    assert stored(author)["avatar_url"] is None


def test_profile_requires_an_auth_user(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        Profile.objects.create(id=uuid.uuid4(), email="ghost@example.com")
