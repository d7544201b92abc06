"""RLS on posts, checked through SQL as Supabase's API roles (what the Data API would allow)."""

from datetime import UTC, datetime

import pytest
from django.db import ProgrammingError

from posts.models import Post
from tests.factories import claims_for, make_post


def visible_ids(cursor) -> set[str]:
    cursor.execute("select id::text from posts")
    return {row[0] for row in cursor.fetchall()}


@pytest.fixture
def drafts_and_published(author, other_user):
    return {
        "author_published": make_post(author, published=True),
        "author_draft": make_post(author, published=False),
        "other_published": make_post(other_user, published=True),
        "other_draft": make_post(other_user, published=False),
    }


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


def test_posts_are_in_the_realtime_publication(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "select count(*) from pg_publication_tables "
            "where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'posts'"
        )
        assert cursor.fetchone()[0] == 1
