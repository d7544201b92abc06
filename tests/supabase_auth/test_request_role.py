"""DATABASE_RLS=enforce: the database itself decides what an API request may read and write."""

import gc
import json
import threading
import weakref

import pytest
from django.db import DatabaseError, connection, transaction
from rest_framework.test import APIClient

from posts.models import Post
from profiles.models import Profile
from supabase_auth import request_role
from tests.factories import make_auth_user, make_post
from tests.supabase_auth.rls_urls import IDENTITY_SQL
from tests.support.http import bearer
from tests.support.wire import traced

pytestmark = pytest.mark.urls("tests.supabase_auth.rls_urls")

VIEWERS = ["anon_client", "author_client", "other_user_client"]


@pytest.fixture
def enforce(settings):
    settings.DATABASE_RLS = "enforce"


@pytest.fixture
def off(settings):
    settings.DATABASE_RLS = "off"


def titles(response) -> set[str]:
    return {post["title"] for post in response.json()}


def expected_titles(posts: dict, viewer: str | None) -> set[str]:
    """Return the titles RLS lets the viewer ("author", "other" or None) read."""
    return {
        post.title
        for key, post in posts.items()
        if key.endswith("_published") or key.startswith(f"{viewer}_")
    }


def owner_state() -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(IDENTITY_SQL)
        return cursor.fetchone()


OWNER = ("postgres", None, None, "", "", "")


# --- the database refuses what the policies refuse ---------------------------------------------


@pytest.mark.parametrize("viewer", VIEWERS)
def test_unscoped_queryset_returns_only_what_rls_allows_when_enforced(
    enforce, request, drafts_and_published, viewer
):
    client = request.getfixturevalue(viewer)
    who = {"author_client": "author", "other_user_client": "other"}.get(viewer)

    response = client.get("/api/unscoped-posts")

    assert response.status_code == 200
    assert titles(response) == expected_titles(drafts_and_published, who)
    assert Post.objects.count() == 4  # the rows are there: the database chose not to show them


def test_unscoped_queryset_leaks_drafts_when_off(off, anon_client, drafts_and_published):
    response = anon_client.get("/api/unscoped-posts")

    assert response.status_code == 200
    assert titles(response) == {post.title for post in drafts_and_published.values()}


def test_reading_every_email_is_refused_by_the_database_when_enforced(
    enforce, transactional_db, author_client, author, other_user
):
    author_client.raise_request_exception = False  # answered as production answers a crash

    response = author_client.get("/api/unscoped-emails")

    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "server_error"}
    assert Profile.objects.filter(email="other@example.com").exists()


def test_reading_every_email_leaks_them_when_off(off, author_client, author, other_user):
    response = author_client.get("/api/unscoped-emails")

    assert response.status_code == 200
    assert response.json() == ["author@example.com", "other@example.com"]


def test_writing_a_server_owned_column_is_refused_to_the_caller(author_client, author):
    post = make_post(author, published=True)

    with request_role.enforced("PATCH", "/api/posts/x"):
        request_role.assume(_claims_of(author_client))
        with pytest.raises(DatabaseError, match="permission denied"), transaction.atomic():
            Post.objects.filter(pk=post.pk).update(created_at=post.created_at)
        title_change = Post.objects.filter(pk=post.pk).update(title="Granted")

    assert title_change == 1
    assert Post.objects.get(pk=post.pk).created_at == post.created_at


# --- statements run with the settings PostgREST gives its own requests ------------------------


def test_signed_in_request_runs_as_authenticated_with_its_verified_claims(
    enforce, author, token_for
):
    token = token_for(author)
    client = APIClient()
    client.credentials(**bearer(token))

    response = client.get("/api/database-identity")

    assert response.status_code == 200
    body = response.json()
    claims = json.loads(body.pop("claims"))
    assert body == {
        "user": "authenticated",
        "uid": str(author.id),
        "role": "authenticated",
        "method": "GET",
        "path": "/api/database-identity",
    }
    assert claims == _payload(token) | {"role": "authenticated"}


def test_anonymous_request_runs_as_anon_with_postgrests_anonymous_claims(enforce, db, anon_client):
    response = anon_client.post("/api/database-identity")

    assert response.status_code == 200
    assert response.json() == {
        "user": "anon",
        "uid": None,
        "role": "anon",
        "claims": '{"role":"anon"}',
        "method": "POST",
        "path": "/api/database-identity",
    }


def test_api_request_runs_as_the_owner_when_off(off, author_client):
    response = author_client.get("/api/database-identity")

    assert response.status_code == 200
    assert response.json()["user"] == "postgres"
    assert response.json()["claims"] in ("", None)


def test_requests_outside_the_api_keep_the_owner_role(enforce, author_client):
    response = author_client.get("/database-identity")

    assert response.status_code == 200
    assert response.json()["user"] == "postgres"


def test_first_sign_in_creates_the_profile_as_the_owner(enforce, client_for, db):
    user = make_auth_user("new@example.com")

    response = client_for(user, user_metadata={"full_name": "Ada"}).get("/api/profiles/me")

    assert response.status_code == 200
    assert response.json()["email"] == "new@example.com"
    assert Profile.objects.filter(id=user.id, email="new@example.com", name="Ada").exists()


# --- nothing survives a request ------------------------------------------------------------------


def test_nothing_survives_a_committed_request_on_the_same_connection(
    enforce, transactional_db, author_client, author
):
    before = connection.connection

    response = author_client.get("/api/database-identity")

    assert response.json()["user"] == "authenticated"
    assert connection.connection is before  # the very same server session
    assert owner_state() == OWNER


def test_nothing_survives_a_request_inside_an_open_transaction(enforce, author_client, author):
    # A test's transaction stays open across the request: the settings are dropped at its end.
    response = author_client.get("/api/database-identity")

    assert response.json()["user"] == "authenticated"
    assert connection.in_atomic_block
    assert owner_state() == OWNER


def test_next_request_on_the_same_connection_starts_over(
    enforce, transactional_db, author_client, anon_client, author
):
    author_client.get("/api/database-identity")

    after = anon_client.get("/api/database-identity").json()
    outside = anon_client.get("/database-identity").json()

    assert (after["user"], after["uid"], after["claims"]) == ("anon", None, '{"role":"anon"}')
    assert (outside["user"], outside["claims"]) == ("postgres", "")


def test_a_finished_threads_connection_is_not_kept_alive(
    enforce, transactional_db, token_for, author
):
    # A server thread's connection is replaced after CONN_MAX_AGE or an error, and a test's
    # thread ends: nothing of the enforced mode may keep the old session open (a cache keyed
    # weakly on the connection, holding a cursor of it, would keep it for ever).
    token = token_for(author)
    seen = []

    def request() -> None:
        response = APIClient().get("/api/database-identity", **bearer(token))
        seen.append((response.json()["user"], weakref.ref(connection.connection)))

    thread = threading.Thread(target=request)
    thread.start()
    thread.join()
    gc.collect()

    user, session = seen[0]
    assert user == "authenticated"
    assert session() is None  # collected, so closed: the server may end the session


def test_owner_statements_in_a_transaction_run_as_the_owner(enforce, author_client, author):
    with request_role.enforced("GET", "/api/x"), transaction.atomic():
        request_role.assume(_claims_of(author_client))
        caller = owner_state()[0]
        with request_role.as_owner():
            owner = owner_state()[0]
        again = owner_state()[0]

    assert (caller, owner, again) == ("authenticated", "postgres", "authenticated")


def test_savepoint_rolled_back_keeps_the_callers_role(enforce, author_client, author):
    with request_role.enforced("GET", "/api/x"), transaction.atomic():
        request_role.assume(_claims_of(author_client))
        try:
            with transaction.atomic():
                owner_state()  # sets the role inside the savepoint
                raise RuntimeError
        except RuntimeError:
            pass
        after = owner_state()[0]

    assert after == "authenticated"


def test_server_side_cursor_needs_a_transaction_when_enforced(
    enforce, transactional_db, author, author_client
):
    make_post(author, published=True)
    with request_role.enforced("GET", "/api/x"):
        request_role.assume(_claims_of(author_client))
        with pytest.raises(DatabaseError, match="need a transaction"):
            _server_side_titles()


def test_server_side_cursor_in_a_transaction_runs_as_the_caller(
    enforce, transactional_db, author, other_user, author_client
):
    make_post(other_user, published=False, title="hidden")
    make_post(author, published=False, title="mine")
    with request_role.enforced("GET", "/api/x"), transaction.atomic():
        request_role.assume(_claims_of(author_client))
        seen = _server_side_titles()

    assert seen == ["mine"]


# --- round trips ------------------------------------------------------------------------------


SCENARIOS = {
    "one post": ("get", lambda post: f"/api/posts/{post.id}", None),
    "list": ("get", lambda post: "/api/posts/", None),
    "me": ("get", lambda post: "/api/posts/me", None),
    "create": ("post", lambda post: "/api/posts/", {"title": "New"}),
    "patch": ("patch", lambda post: f"/api/posts/{post.id}", {"title": "Changed"}),
}


def wire_of(client, settings, mode: str, method: str, path: str, body):
    settings.DATABASE_RLS = mode
    send = getattr(client, method)
    with traced(connection) as wire:
        response = send(path) if body is None else send(path, body, format="json")
    assert response.status_code in (200, 201), response.content
    return wire


@pytest.fixture(params=["server-side", "client-side"])
def binding(request, transactional_db):
    """Parameters bound by the server (prepared statements: sessions) or by psycopg (poolers)."""
    options = connection.settings_dict["OPTIONS"]
    saved = dict(options)
    if request.param == "client-side":
        options["server_side_binding"] = False
        options["prepare_threshold"] = None
    connection.close()
    yield request.param
    connection.close()
    options.clear()
    options.update(saved)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_enforce_mode_adds_no_round_trip(settings, binding, author_client, author, scenario):
    # Whichever binding the connection uses (server-side: sessions; client-side: poolers).
    post = make_post(author, published=True)
    method, path, body = SCENARIOS[scenario]
    wire_of(author_client, settings, "off", method, path(post), body)  # warm: token, compiled SQL

    off = wire_of(author_client, settings, "off", method, path(post), body)
    enforced = wire_of(author_client, settings, "enforce", method, path(post), body)

    assert enforced.round_trips == off.round_trips
    # The setup goes with each of the caller's statements (all but the authentication step's
    # profile lookup), in the same message: as many messages as before, one answer each.
    assert enforced.statements == off.statements
    setups = enforced.queries(containing="set_config('role', 'authenticated', true)")
    assert setups == off.statements - 1


def test_claims_reach_the_database_intact_whatever_they_hold(settings, binding, author, token_for):
    # Placeholders, quotes and backslashes in user-editable claims are data, not SQL.
    settings.DATABASE_RLS = "enforce"
    metadata = {"name": "100% 'Ada' \\ %s %(x)s", "bio": "$1 ; select 1"}
    token = token_for(author, user_metadata=metadata)
    client = APIClient()
    client.credentials(**bearer(token))

    response = client.get("/api/database-identity")
    mine = client.get("/api/posts/me")  # a statement with parameters of its own

    assert response.status_code == 200
    assert json.loads(response.json()["claims"])["user_metadata"] == metadata
    assert response.json()["uid"] == str(author.id)
    assert mine.status_code == 200


def _server_side_titles() -> list[str]:
    return [post.title for post in Post.objects.order_by("title").iterator(chunk_size=10)]


def _claims_of(client):
    """Return the verified claims of the token a test client sends."""
    from supabase_auth import tokens

    return tokens.verify(client._credentials["HTTP_AUTHORIZATION"].split()[1])


def _payload(token: str) -> dict:
    import jwt

    return jwt.decode(token, options={"verify_signature": False})
