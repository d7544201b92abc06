"""The API's access rules and the database's RLS give the same answers, row for row.

Each endpoint is asked by an anonymous caller, an author and another user about published
posts and drafts of both users, and about both profiles (email included); the same question
is then put to Postgres as Supabase's Data API would put it (SQL as `anon`/`authenticated`
with the caller's claims, RLS and column grants deciding). The answers must match column for
column, with the API in both DATABASE_RLS modes, so neither rule set can drift unnoticed.
"""

import uuid
from dataclasses import dataclass

import pytest
from django.db import ProgrammingError, connection, transaction

from posts.changes import Cursor
from posts.models import Post
from posts.serializers import iso8601
from profiles.serializers import PublicProfileSerializer
from tests.factories import claims_for, make_post

MODES = ["off", "enforce"]
VIEWERS = ["anonymous", "author", "other user"]
POSTS = ["author_published", "author_draft", "other_published", "other_draft"]
PROFILES = ["author", "other user"]
POST_COLUMNS = ("id", "author_id", "title", "content", "published", "created_at", "updated_at")
PUBLIC_PROFILE_COLUMNS = tuple(PublicProfileSerializer.Meta.fields)
MY_PROFILE_COLUMNS = ("id", "email", "name", "avatar_url", "created_at", "updated_at")
NEWEST_FIRST = "order by created_at desc, id desc"
ONE_POST = f"select {', '.join(POST_COLUMNS)} from posts where id = %s"  # noqa: S608
MY_PROFILE = f"select {', '.join(MY_PROFILE_COLUMNS)} from my_profile()"  # noqa: S608

REFUSED = "refused"  # the API's 401; the database's permission denied (42501)
NOT_VISIBLE = "not visible"  # the API's 404; no row for the SQL
NOT_YOURS = "not yours"  # the API's 403; SQL changes no row of a row it can read
DONE = "done"


@dataclass
class Viewer:
    client: object
    role: str
    claims: dict


@pytest.fixture(params=MODES)
def mode(request, settings):
    settings.DATABASE_RLS = request.param
    return request.param


@pytest.fixture
def viewers(anon_client, author_client, other_user_client, author, other_user):
    return {
        # PostgREST's claims for a request without a user token.
        "anonymous": Viewer(anon_client, "anon", {"role": "anon"}),
        "author": Viewer(author_client, "authenticated", claims_for(author)),
        "other user": Viewer(other_user_client, "authenticated", claims_for(other_user)),
    }


@pytest.fixture
def profiles(author, other_user):
    return {"author": author, "other user": other_user}


def as_json(row: dict) -> dict:
    """Render a row of SQL values as the API renders them (strings for ids, ISO 8601 times)."""
    return {
        name: str(value)
        if isinstance(value, uuid.UUID)
        else iso8601(value)
        if hasattr(value, "astimezone")
        else value
        for name, value in row.items()
    }


def sql(as_role, viewer: Viewer, query: str, params: list | None = None):
    """Return the rows the Data API would return the viewer, or REFUSED."""
    refusal = None
    try:
        with as_role(viewer.role, viewer.claims) as cursor:
            cursor.execute(query, params)
            names = [column.name for column in cursor.description]
            return [as_json(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]
    except ProgrammingError as exc:
        refusal = getattr(exc.__cause__, "sqlstate", None)
    assert refusal == "42501"  # insufficient privilege or RLS; anything else is a broken test
    return REFUSED


def sql_write(as_role, viewer: Viewer, query: str, post_id) -> str:
    """Run a write as the viewer and undo it; return what became of it."""
    rows = sql(as_role, viewer, f"{query} returning id", [post_id])
    if rows == REFUSED:
        return REFUSED
    if rows:
        return DONE
    return (
        NOT_YOURS
        if sql(as_role, viewer, "select id from posts where id = %s", [post_id])
        else NOT_VISIBLE
    )


def api_rows(response) -> list[dict] | str:
    """Return the rows an API read answered, following its pages; 401 is REFUSED."""
    if response.status_code == 401:
        return REFUSED
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.content
    body = response.json()
    if "results" not in body:
        return [body]
    rows = body["results"]
    while body["next"]:
        body = response.client.get(body["next"]).json()
        rows += body["results"]
    return rows


def api_write(response) -> str:
    return {200: DONE, 201: DONE, 204: DONE, 401: REFUSED, 403: NOT_YOURS, 404: NOT_VISIBLE}[
        response.status_code
    ]


def undone(send):
    """Return send()'s response, with whatever it wrote rolled back."""
    with transaction.atomic():
        response = send()
        transaction.set_rollback(True)
    return response


# --- reads ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", VIEWERS)
def test_public_list_is_what_rls_shows_of_published_posts(
    mode, as_role, drafts_and_published, viewers, who
):
    viewer = viewers[who]

    api = api_rows(viewer.client.get("/api/posts/"))

    query = f"select {', '.join(POST_COLUMNS)} from posts where published {NEWEST_FIRST}"  # noqa: S608
    assert api == sql(as_role, viewer, query)
    assert len(api) == 2


@pytest.mark.parametrize("who", VIEWERS)
def test_my_posts_are_what_rls_shows_of_the_callers_own(
    mode, as_role, drafts_and_published, viewers, who
):
    viewer = viewers[who]

    api = api_rows(viewer.client.get("/api/posts/me"))

    query = (
        f"select {', '.join(POST_COLUMNS)} from posts "  # noqa: S608
        f"where author_id = (select auth.uid()) {NEWEST_FIRST}"
    )
    expected = sql(as_role, viewer, query)
    # Anonymous: the API asks for a token; the database has no uid to match.
    assert api == (REFUSED if expected == [] and viewer.role == "anon" else expected)


@pytest.mark.parametrize("post", POSTS)
@pytest.mark.parametrize("who", VIEWERS)
def test_one_post_is_what_rls_shows(mode, as_role, drafts_and_published, viewers, who, post):
    viewer, target = viewers[who], drafts_and_published[post]

    api = api_rows(viewer.client.get(f"/api/posts/{target.id}"))

    assert api == sql(as_role, viewer, ONE_POST, [target.id])


@pytest.mark.parametrize("owner", PROFILES)
@pytest.mark.parametrize("who", VIEWERS)
def test_a_profiles_posts_are_what_rls_shows_of_its_published_ones(
    mode, as_role, drafts_and_published, viewers, profiles, who, owner
):
    viewer, profile = viewers[who], profiles[owner]

    api = api_rows(viewer.client.get(f"/api/profiles/{profile.id}/posts"))

    query = (
        f"select {', '.join(POST_COLUMNS)} from posts "  # noqa: S608
        f"where author_id = %s and published {NEWEST_FIRST}"
    )
    assert api == sql(as_role, viewer, query, [profile.id])


@pytest.mark.parametrize("owner", PROFILES)
@pytest.mark.parametrize("who", VIEWERS)
def test_public_profile_is_what_rls_shows_and_never_the_email(
    mode, as_role, viewers, profiles, who, owner
):
    viewer, profile = viewers[who], profiles[owner]

    api = api_rows(viewer.client.get(f"/api/profiles/{profile.id}"))

    query = f"select {', '.join(PUBLIC_PROFILE_COLUMNS)} from profiles where id = %s"  # noqa: S608
    assert api == sql(as_role, viewer, query, [profile.id])
    assert sql(as_role, viewer, "select email from profiles where id = %s", [profile.id]) == (
        REFUSED
    )


@pytest.mark.parametrize("who", VIEWERS)
def test_my_profile_is_what_my_profile_gives_email_included(mode, as_role, viewers, who):
    viewer = viewers[who]

    api = api_rows(viewer.client.get("/api/profiles/me"))

    assert api == sql(as_role, viewer, MY_PROFILE)


# --- writes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("post", POSTS)
@pytest.mark.parametrize("who", VIEWERS)
def test_changing_a_post_is_allowed_where_rls_allows_it(
    mode, as_role, drafts_and_published, viewers, who, post
):
    viewer, target = viewers[who], drafts_and_published[post]

    api = api_write(
        undone(
            lambda: viewer.client.patch(f"/api/posts/{target.id}", {"title": "New"}, format="json")
        )
    )

    assert api == sql_write(
        as_role, viewer, "update posts set title = 'New' where id = %s", target.id
    )


@pytest.mark.parametrize("post", POSTS)
@pytest.mark.parametrize("who", VIEWERS)
def test_deleting_a_post_is_allowed_where_rls_allows_it(
    mode, as_role, drafts_and_published, viewers, who, post
):
    viewer, target = viewers[who], drafts_and_published[post]

    api = api_write(undone(lambda: viewer.client.delete(f"/api/posts/{target.id}")))

    assert api == sql_write(as_role, viewer, "delete from posts where id = %s", target.id)


@pytest.mark.parametrize("author_of", PROFILES)
@pytest.mark.parametrize("who", VIEWERS)
def test_creating_a_post_is_allowed_where_rls_allows_it(
    mode, as_role, viewers, profiles, who, author_of
):
    viewer, profile = viewers[who], profiles[author_of]
    body = {"title": "New", "author_id": str(profile.id)}

    response = undone(lambda: viewer.client.post("/api/posts/", body, format="json"))

    rows = sql(
        as_role,
        viewer,
        "insert into posts (author_id, title) values (%s, 'New') returning author_id",
        [profile.id],
    )
    if viewer.role == "anon":
        assert (api_write(response), rows) == (REFUSED, REFUSED)
    else:
        # The API takes the author from the token, whatever the body says; RLS refuses an
        # insert for anyone else (42501 too).
        assert response.status_code == 201
        caller = viewer.claims["sub"]
        assert response.json()["author_id"] == caller
        assert rows == ([{"author_id": caller}] if str(profile.id) == caller else REFUSED)


@pytest.mark.parametrize("who", VIEWERS)
def test_renaming_oneself_is_allowed_where_rls_allows_it(mode, as_role, viewers, profiles, who):
    viewer = viewers[who]

    response = undone(
        lambda: viewer.client.patch("/api/profiles/me", {"name": "New"}, format="json")
    )

    rows = sql(
        as_role,
        viewer,
        "update profiles set name = 'New' where id = (select auth.uid()) returning name",
    )
    if viewer.role == "anon":
        assert (api_write(response), rows) == (REFUSED, REFUSED)
    else:
        assert (api_write(response), rows) == (DONE, [{"name": "New"}])
    others = sql(
        as_role,
        viewer,
        "update profiles set name = 'New' where id <> (select auth.uid()) returning id",
    )
    assert others in ([], REFUSED)  # nobody renames anyone else, through either


# --- the change feed ---------------------------------------------------------------------------


FEED_WINDOW = """
select post_id from post_changes
where not pg_visible_in_snapshot(xid, %s::pg_snapshot)
group by post_id order by max(seq)
"""


@pytest.mark.parametrize("who", VIEWERS)
def test_change_feed_is_what_rls_shows_of_the_changes(
    transactional_db, mode, as_role, viewers, author, other_user, who
):
    viewer = viewers[who]
    cursor = viewer.client.get("/api/posts/changes").json()["cursor"]
    since = Cursor.decode(cursor).since
    posts = {
        (owner.email, published): make_post(owner, published=published)
        for owner in (author, other_user)
        for published in (True, False)
    }
    edited, unpublished = posts[("author@example.com", False)], posts[("other@example.com", True)]
    Post.objects.filter(pk=edited.pk).update(title="Edited draft")
    Post.objects.filter(pk=unpublished.pk).update(published=False)
    posts[("author@example.com", True)].delete()
    posts[("other@example.com", False)].delete()

    api = api_rows(viewer.client.get("/api/posts/changes", {"since": cursor}))[0]["changes"]

    expected = []
    for row in sql(as_role, viewer, FEED_WINDOW, [str(since)]):
        now = sql(as_role, viewer, ONE_POST, [row["post_id"]])
        expected += now or [{"id": row["post_id"], "deleted": True}]
    assert api == expected
    assert api  # every caller hears of something: the published posts


def test_the_matrix_can_fail(as_role, drafts_and_published, viewers):
    """Negative control: a rule the database does not share is caught as a difference."""
    viewer, draft = viewers["other user"], drafts_and_published["author_draft"]
    with connection.cursor() as cursor:
        cursor.execute(
            "create policy parity_probe on posts for select to authenticated using (true)"
        )

    rows = sql(as_role, viewer, ONE_POST, [draft.id])

    assert api_rows(viewer.client.get(f"/api/posts/{draft.id}")) == []
    assert rows != []
