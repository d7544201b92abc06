"""GET /api/posts/changes: each post once, as it is now; deleted only to who could see it."""

import base64
import io
import json
from datetime import timedelta

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from posts import changes
from posts.models import Post, PostChange, PostChangeCheckpoint
from tests.factories import claims_for, make_post

# Snapshots are the cursors: only committed transactions count, so these tests commit.
pytestmark = pytest.mark.usefixtures("transactional_db")

URL = "/api/posts/changes"


def start(client) -> str:
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["changes"] == []
    return response.json()["cursor"]


def poll(client, cursor: str, **params) -> tuple[list[dict], str]:
    """Return every change since cursor (following `more`) and the cursor to resume from."""
    found = []
    while True:
        response = client.get(URL, {"since": cursor, **params})
        assert response.status_code == 200, response.content
        body = response.json()
        found += body["changes"]
        cursor = body["cursor"]
        if not body["more"]:
            return found, cursor


def shown(client, post) -> dict:
    response = client.get(f"/api/posts/{post.id}")
    assert response.status_code == 200
    return response.json()


def deleted(post) -> dict:
    """Return the change telling that post went (take it before deleting: Django clears ids)."""
    return {"id": str(post.id), "deleted": True}


def tamper(cursor: str, since: str) -> str:
    raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[0] = since
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


# --- what each caller is told ------------------------------------------------------------------


def test_without_since_the_answer_is_the_cursor_of_now(anon_client, author):
    make_post(author, published=True)

    cursor = start(anon_client)
    later = make_post(author, published=True)

    assert poll(anon_client, cursor)[0] == [shown(anon_client, later)]


@pytest.mark.parametrize("viewer", ["anon_client", "other_user_client", "author_client"])
def test_new_published_post_reaches_everyone_as_the_api_shows_it(request, author, viewer):
    client = request.getfixturevalue(viewer)
    cursor = start(client)

    post = make_post(author, published=True)

    assert poll(client, cursor)[0] == [shown(client, post)]


def test_new_draft_reaches_its_author_as_the_api_shows_it(author_client, author):
    cursor = start(author_client)

    draft = make_post(author, published=False)

    assert poll(author_client, cursor)[0] == [shown(author_client, draft)]


@pytest.mark.parametrize("viewer", ["anon_client", "other_user_client"])
def test_someone_elses_draft_never_appears_not_even_deleted(request, author, viewer):
    client = request.getfixturevalue(viewer)
    cursor = start(client)

    draft = make_post(author, published=False)
    Post.objects.filter(pk=draft.pk).update(title="Still a draft")
    draft.delete()
    control = make_post(author, published=True)

    assert poll(client, cursor)[0] == [shown(client, control)]


def test_edited_post_comes_once_in_its_current_state(other_user_client, author):
    post = make_post(author, published=True)
    cursor = start(other_user_client)

    for title in ("First", "Second", "Third"):
        Post.objects.filter(pk=post.pk).update(title=title)

    found, _ = poll(other_user_client, cursor)
    assert found == [shown(other_user_client, post)]
    assert found[0]["title"] == "Third"


@pytest.mark.parametrize(
    ("viewer", "published"),
    [
        ("anon_client", True),
        ("other_user_client", True),
        ("author_client", True),
        ("author_client", False),  # a draft, to the only one who could see it
    ],
)
def test_deleted_post_comes_as_deleted_to_whoever_could_see_it(request, author, viewer, published):
    client = request.getfixturevalue(viewer)
    post = make_post(author, published=published)
    cursor = start(client)
    expected = deleted(post)

    post.delete()

    assert poll(client, cursor)[0] == [expected]


def test_unpublished_post_is_deleted_for_others(other_user_client, author):
    post = make_post(author, published=True)
    cursor = start(other_user_client)

    Post.objects.filter(pk=post.pk).update(published=False)

    assert poll(other_user_client, cursor)[0] == [deleted(post)]


def test_unpublished_post_is_a_draft_for_its_author(author_client, author):
    post = make_post(author, published=True)
    cursor = start(author_client)

    Post.objects.filter(pk=post.pk).update(published=False)

    (change,) = poll(author_client, cursor)[0]
    assert change == shown(author_client, post)
    assert change["published"] is False


def test_post_public_for_a_moment_comes_as_deleted(anon_client, author):
    # A client may have listed it while it was published: it must hear that it went away.
    cursor = start(anon_client)
    draft = make_post(author, published=False)

    Post.objects.filter(pk=draft.pk).update(published=True)
    Post.objects.filter(pk=draft.pk).update(published=False)

    assert poll(anon_client, cursor)[0] == [deleted(draft)]


def test_changes_come_in_the_order_they_were_made(anon_client, author):
    first, second = make_post(author, published=True), make_post(author, published=True)
    cursor = start(anon_client)

    Post.objects.filter(pk=second.pk).update(title="Changed first")
    Post.objects.filter(pk=first.pk).update(title="Changed second")

    assert [change["id"] for change in poll(anon_client, cursor)[0]] == [
        str(second.id),
        str(first.id),
    ]


def test_a_cursor_resumes_after_what_it_was_given(anon_client, author):
    cursor = start(anon_client)
    first = make_post(author, published=True)
    _, cursor = poll(anon_client, cursor)

    nothing, cursor = poll(anon_client, cursor)
    second = make_post(author, published=True)

    assert nothing == []
    assert poll(anon_client, cursor)[0] == [shown(anon_client, second)]
    assert first.id != second.id


def test_writes_through_the_data_api_are_in_the_feed(anon_client, author, as_role):
    cursor = start(anon_client)

    with as_role("authenticated", claims_for(author)) as cursor_as_author:
        cursor_as_author.execute(
            "insert into posts (author_id, title, published) values (%s, 'Via supabase-js', true)"
            " returning id",
            [author.id],
        )
        (post_id,) = cursor_as_author.fetchone()

    assert poll(anon_client, cursor)[0] == [shown(anon_client, Post.objects.get(pk=post_id))]


def test_a_refused_token_is_401(client_for, author):
    client = client_for(author, exp=1)

    response = client.get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "token_expired"


# --- pages ---------------------------------------------------------------------------------------


def test_a_window_larger_than_a_page_is_sent_page_by_page(anon_client, author):
    cursor = start(anon_client)
    posts = [make_post(author, published=True) for _ in range(5)]

    pages = []
    while True:
        body = anon_client.get(URL, {"since": cursor, "page_size": 2}).json()
        pages.append([change["id"] for change in body["changes"]])
        cursor = body["cursor"]
        if not body["more"]:
            break

    assert pages == [
        [str(posts[0].id), str(posts[1].id)],
        [str(posts[2].id), str(posts[3].id)],
        [str(posts[4].id)],
    ]
    assert poll(anon_client, cursor)[0] == []


def test_writes_made_while_paging_come_after_the_window(anon_client, author):
    cursor = start(anon_client)
    posts = [make_post(author, published=True) for _ in range(3)]
    first = anon_client.get(URL, {"since": cursor, "page_size": 2}).json()

    late = make_post(author, published=True)
    rest, cursor = poll(anon_client, first["cursor"], page_size=2)  # the window, to its end
    after, _ = poll(anon_client, cursor)

    assert [change["id"] for change in first["changes"] + rest] == [str(post.id) for post in posts]
    assert after == [shown(anon_client, late)]


def test_page_size_above_the_maximum_gets_the_maximum(anon_client, db):
    response = anon_client.get(URL, {"since": start(anon_client), "page_size": 10_000})

    assert response.status_code == 200


# --- refused cursors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "since",
    [
        "garbage",
        base64.urlsafe_b64encode(b"[1, 2, 3]").decode(),
        base64.urlsafe_b64encode(b'["20:10:", null, 0]').decode(),
        base64.urlsafe_b64encode(b'["10:20:15,12", null, 0]').decode(),
        base64.urlsafe_b64encode(b'["10:20:25", null, 0]').decode(),
        base64.urlsafe_b64encode(b'["10:20:", null, -1]').decode(),
        base64.urlsafe_b64encode(b'["10:20:", "x", 0]').decode(),
        "A" * 9000,
    ],
    ids=["garbage", "list", "xmin-after-xmax", "unsorted", "outside", "after", "until", "long"],
)
def test_invalid_cursor_is_400(anon_client, since):
    response = anon_client.get(URL, {"since": since})

    assert response.status_code == 400
    assert response.json().get("since") or response.json()["code"] == "invalid_cursor"


def test_cursor_older_than_retention_is_410(anon_client, author):
    old_cursor = start(anon_client)
    gone = make_post(author, published=True)
    make_post(author, published=True)  # commits: the oldest running transaction moves on
    with connection.cursor() as cursor:
        cursor.execute("select pg_snapshot_xmin(pg_current_snapshot())")
        (horizon,) = cursor.fetchone()
    PostChangeCheckpoint.objects.create(
        taken_at=timezone.now() - timedelta(days=30), horizon=horizon
    )

    changes.prune()
    response = anon_client.get(URL, {"since": old_cursor})

    assert response.status_code == 410
    assert response.json() == {
        "detail": changes.CursorExpired.message,
        "code": "cursor_expired",
    }
    assert not PostChange.objects.filter(post_id=gone.id).exists()


def test_cursor_within_retention_survives_pruning(anon_client, author):
    cursor = start(anon_client)
    post = make_post(author, published=True)

    changes.prune()

    assert poll(anon_client, cursor)[0] == [shown(anon_client, post)]


def test_cursor_from_a_future_this_database_never_reached_is_410(anon_client, db):
    cursor = tamper(start(anon_client), "900000000000:900000000001:")

    response = anon_client.get(URL, {"since": cursor})

    assert response.status_code == 410
    assert response.json()["code"] == "cursor_expired"


# --- committed late ----------------------------------------------------------------------------


@pytest.fixture
def second_connection():
    """Another session on the test database, for a transaction that stays open."""
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"], user=params["USER"], host=params["HOST"], port=params["PORT"]
    ) as conn:
        yield conn


def test_older_transaction_committing_late_is_not_skipped(anon_client, author, second_connection):
    # The trap of "ids above the last one seen": an older transaction commits after a newer one.
    post, other = make_post(author, published=True), make_post(author, published=True)
    cursor = start(anon_client)
    second_connection.execute("update posts set title = 'Older, late' where id = %s", [other.id])
    Post.objects.filter(pk=post.pk).update(title="Newer, early")  # a later id, committed first
    early, cursor = poll(anon_client, cursor)

    second_connection.execute(
        "update posts set title = 'Older, touched last' where id = %s", [post.id]
    )
    second_connection.commit()
    late, _ = poll(anon_client, cursor)

    assert [change["title"] for change in early] == ["Newer, early"]
    assert {change["title"] for change in late} == {"Older, late", "Older, touched last"}
    assert {change["id"] for change in late} == {str(post.id), str(other.id)}


def test_prune_command_deletes_changes_older_than_the_retention(author):
    old, kept = make_post(author, published=True), None
    with connection.cursor() as cursor:
        cursor.execute("select pg_snapshot_xmin(pg_current_snapshot())")
        (horizon,) = cursor.fetchone()
    PostChangeCheckpoint.objects.create(
        taken_at=timezone.now() - timedelta(days=30), horizon=horizon
    )
    kept = make_post(author, published=True)
    out = io.StringIO()

    call_command("prune_post_changes", stdout=out)

    assert out.getvalue() == f"Pruned changes of transactions before {horizon} (72 h).\n"
    assert not PostChange.objects.filter(post_id=old.id).exists()
    assert PostChange.objects.filter(post_id=kept.id).exists()


def test_prune_command_keeps_everything_within_the_retention(author):
    post = make_post(author, published=True)
    out = io.StringIO()

    call_command("prune_post_changes", stdout=out)

    assert out.getvalue() == "Nothing older than 72 hours to prune yet.\n"
    assert PostChange.objects.filter(post_id=post.id).exists()
