"""RLS on posts, checked through SQL as Supabase's API roles (what the Data API would allow)."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, ProgrammingError, connection, transaction

from posts.models import Post
from tests.factories import claims_for


def visible_ids(cursor) -> set[str]:
    cursor.execute("select id::text from posts")
    return {row[0] for row in cursor.fetchall()}


def test_anon_reads_only_published_posts(as_role, drafts_and_published):
    with as_role("anon") as cursor:
        ids = visible_ids(cursor)

    expected = {str(p.id) for k, p in drafts_and_published.items() if k.endswith("published")}
    assert ids == expected


def test_user_reads_published_posts_and_own_drafts(as_role, author, drafts_and_published):
    with as_role("authenticated", claims_for(author)) as cursor:
        ids = visible_ids(cursor)

    posts = drafts_and_published
    assert ids == {
        str(posts[k].id) for k in ("author_published", "author_draft", "other_published")
    }


def test_user_cannot_update_another_users_post(as_role, author, drafts_and_published):
    target = drafts_and_published["other_published"]

    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute("update posts set title = 'hijacked' where id = %s", [target.id])
        updated = cursor.rowcount

    assert updated == 0
    target.refresh_from_db()
    assert target.title != "hijacked"


def test_user_updates_own_post(as_role, author, drafts_and_published):
    own = drafts_and_published["author_draft"]

    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute("update posts set title = 'edited' where id = %s", [own.id])
        updated = cursor.rowcount

    assert updated == 1
    own.refresh_from_db()
    assert own.title == "edited"


def test_user_cannot_give_own_post_to_someone_else(
    as_role, author, other_user, drafts_and_published
):
    own = drafts_and_published["author_draft"]

    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        as_role("authenticated", claims_for(author)) as cursor,
    ):
        cursor.execute("update posts set author_id = %s where id = %s", [other_user.id, own.id])

    own.refresh_from_db()
    assert own.author_id == author.id


def test_user_cannot_delete_another_users_post(as_role, author, drafts_and_published):
    target = drafts_and_published["other_draft"]

    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute("delete from posts where id = %s", [target.id])
        deleted = cursor.rowcount

    assert deleted == 0
    assert Post.objects.filter(id=target.id).exists()


def test_user_deletes_own_post(as_role, author, drafts_and_published):
    own = drafts_and_published["author_published"]

    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute("delete from posts where id = %s", [own.id])

    assert not Post.objects.filter(id=own.id).exists()
    assert Post.objects.filter(id=drafts_and_published["other_published"].id).exists()


def test_user_cannot_insert_a_post_for_someone_else(as_role, author, other_user):
    with (
        pytest.raises(ProgrammingError, match="row-level security"),
        as_role("authenticated", claims_for(author)) as cursor,
    ):
        cursor.execute(
            "insert into posts (author_id, title) values (%s, 'forged')", [other_user.id]
        )

    assert not Post.objects.filter(title="forged").exists()


def test_user_inserts_own_post_with_database_defaults(as_role, author):
    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute(
            "insert into posts (author_id, title) values (%s, 'from the Data API') "
            "returning id, published, created_at, updated_at",
            [author.id],
        )
        post_id, published, created_at, updated_at = cursor.fetchone()

    assert post_id is not None
    assert published is False
    assert created_at is not None
    assert updated_at is not None


def test_anon_cannot_write_posts(as_role, author):
    with pytest.raises(ProgrammingError, match="permission denied"), as_role("anon") as cursor:
        cursor.execute("insert into posts (author_id, title) values (%s, 'anon')", [author.id])

    assert not Post.objects.filter(title="anon").exists()


def test_api_roles_cannot_truncate_posts(as_role, author, drafts_and_published):
    # TRUNCATE ignores RLS, so the grant itself must be gone.
    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        as_role("authenticated", claims_for(author)) as cursor,
    ):
        cursor.execute("truncate posts cascade")

    assert Post.objects.count() == 4


def test_data_api_update_bumps_updated_at(as_role, author, drafts_and_published):
    own = drafts_and_published["author_draft"]
    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    Post.objects.filter(id=own.id).update(updated_at=long_ago)

    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute("update posts set published = true where id = %s", [own.id])

    own.refresh_from_db()
    assert own.updated_at > long_ago


def stored_times(post: Post) -> tuple[datetime, datetime]:
    return Post.objects.values_list("created_at", "updated_at").get(id=post.id)


def database_now() -> datetime:
    with connection.cursor() as cursor:
        cursor.execute("select now()")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("value", ["infinity", "2000-01-01T00:00:00Z"])
def test_user_cannot_set_own_posts_updated_at(as_role, author, drafts_and_published, value):
    # infinity made every reader of the feed fail; an old value hid an edit from pollers.
    own = drafts_and_published["author_published"]
    before = stored_times(own)

    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        as_role("authenticated", claims_for(author)) as cursor,
    ):
        cursor.execute("update posts set updated_at = %s where id = %s", [value, own.id])

    assert stored_times(own) == before


def test_user_cannot_set_own_posts_created_at(as_role, author, drafts_and_published):
    own = drafts_and_published["author_published"]
    before = stored_times(own)

    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        as_role("authenticated", claims_for(author)) as cursor,
    ):
        cursor.execute("update posts set created_at = '9999-01-01' where id = %s", [own.id])

    assert stored_times(own) == before


@pytest.mark.parametrize("column", ["id", "created_at", "updated_at"])
def test_user_cannot_choose_server_owned_columns_when_inserting(as_role, author, column):
    value = "00000000-0000-4000-8000-000000000001" if column == "id" else "infinity"

    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        as_role("authenticated", claims_for(author)) as cursor,
    ):
        cursor.execute(
            f"insert into posts (author_id, title, {column}) values (%s, 'forged', %s)",  # noqa: S608
            [author.id, value],
        )

    assert not Post.objects.filter(title="forged").exists()


def test_user_cannot_change_a_posts_id(as_role, author, drafts_and_published):
    own = drafts_and_published["author_draft"]

    with (
        pytest.raises(ProgrammingError, match="permission denied"),
        as_role("authenticated", claims_for(author)) as cursor,
    ):
        cursor.execute(
            "update posts set id = '00000000-0000-4000-8000-000000000001' where id = %s",
            [own.id],
        )

    assert Post.objects.filter(id=own.id).exists()


def test_data_api_insert_is_stamped_with_the_transaction_time(as_role, author):
    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute("select now()")
        (now,) = cursor.fetchone()
        cursor.execute(
            "insert into posts (author_id, title) values (%s, 'stamped') "
            "returning created_at, updated_at",
            [author.id],
        )
        created_at, updated_at = cursor.fetchone()

    assert created_at == updated_at == now


def test_timestamps_are_stamped_even_if_the_api_role_is_granted_them(
    as_role, author, drafts_and_published
):
    # A second lock: a dashboard "grant all" must not let a user pick the timestamps again.
    own = drafts_and_published["author_draft"]
    created_at, _ = stored_times(own)
    with connection.cursor() as cursor:
        cursor.execute("grant update (created_at, updated_at) on posts to authenticated")

    with as_role("authenticated", claims_for(author)) as cursor:
        cursor.execute("select now()")
        (now,) = cursor.fetchone()
        cursor.execute(
            "update posts set created_at = '2000-01-01', updated_at = '2000-01-01' "
            "where id = %s returning created_at, updated_at",
            [own.id],
        )
        stamped = cursor.fetchone()

    assert stamped == (created_at, now)
    assert stored_times(own) == (created_at, now)


def test_owner_may_set_timestamps_for_imports(author, drafts_and_published):
    own = drafts_and_published["author_draft"]
    imported = datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)

    Post.objects.filter(id=own.id).update(created_at=imported, updated_at=imported)

    assert stored_times(own) == (imported, imported)
    assert stored_times(drafts_and_published["other_draft"]) != (imported, imported)


@pytest.mark.parametrize(
    "value", ["infinity", "-infinity", "10000-01-01 00:00:00+00", "0001-01-01 00:00:00+00 BC"]
)
@pytest.mark.parametrize("column", ["created_at", "updated_at"])
def test_timestamps_outside_the_sane_range_are_refused_even_for_the_owner(
    author, drafts_and_published, column, value
):
    own = drafts_and_published["author_draft"]
    before = stored_times(own)

    with (
        pytest.raises(IntegrityError, match=f"posts_{column}_range"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(f"update posts set {column} = %s where id = %s", [value, own.id])  # noqa: S608

    assert stored_times(own) == before


def test_posts_are_in_the_realtime_publication(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "select count(*) from pg_publication_tables "
            "where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'posts'"
        )
        assert cursor.fetchone()[0] == 1
