"""A client generated from the served schema drives the live API, without a hand edit.

openapi-python-client generates the package from `/api/schema/` into a temporary folder; its
clients raise on any status the schema does not declare, and parse every body into the models
the schema describes. Each response is also validated against its operation's schema
(schemathesis' validator: types, required fields, nullability), so a body of another shape
fails the test too. Supabase Auth is the local HTTP double (tests/support/supabase_server.py).
"""

import importlib
import json
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import schemathesis
from django.test import Client as DjangoClient

from posts.models import Post
from profiles.models import Profile
from supabase_auth.models import AuthUser
from tests.factories import make_post, make_profile
from tests.support.supabase_wiring import wired_fake_supabase

PACKAGE = "generated_api_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")
PASSWORD = "a-long-password-1"


@pytest.fixture(scope="module")
def served_schema() -> dict:
    response = DjangoClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def api(served_schema, tmp_path_factory):
    """Generate the client package from the served schema and import it."""
    folder = tmp_path_factory.mktemp("client")
    (folder / "schema.json").write_text(json.dumps(served_schema))
    (folder / "config.yaml").write_text("post_hooks: []\n")  # no formatter run on the output
    subprocess.run(
        [
            GENERATOR,
            "generate",
            "--path",
            folder / "schema.json",
            "--output-path",
            folder / PACKAGE,
            "--meta",
            "none",
            "--config",
            folder / "config.yaml",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(folder))
        package = importlib.import_module(PACKAGE)
        yield package
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def call(api, path: str):
    """Return a generated operation module, e.g. call(api, "posts.posts_create")."""
    return importlib.import_module(f"{PACKAGE}.api.{path}")


def model(api, name: str):
    return getattr(importlib.import_module(f"{PACKAGE}.models"), name)


@pytest.fixture
def conforms(served_schema):
    """Return an httpx response hook failing on a body its operation's schema does not describe."""
    schema = schemathesis.openapi.from_dict(served_schema)

    def check(response: httpx.Response) -> None:
        response.read()
        request = response.request
        operation = schema.find_operation_by_path(request.method, request.url.path)
        assert operation is not None, f"{request.method} {request.url.path} is not documented"
        operation.validate_response(response)

    return check


@pytest.fixture
def clients(api, committed_db, live_server, conforms):
    """Return make(token=None): a strict generated client (anonymous without a token).

    Their connections are closed afterwards: the live server's thread for a kept-alive
    connection holds a database session until the client hangs up.
    """
    made = []

    def make(token: str | None = None):
        options = {
            "base_url": live_server.url,
            "raise_on_unexpected_status": True,
            "httpx_args": {"event_hooks": {"response": [conforms]}},
        }
        client = (
            api.Client(**options)
            if token is None
            else api.AuthenticatedClient(token=token, **options)
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.get_httpx_client().close()


@pytest.fixture
def supabase(settings, committed_db):
    with wired_fake_supabase(settings, confirm_email=False) as fake:
        yield fake


@pytest.fixture
def signed_up(api, clients, supabase) -> dict:
    """Sign Ada up through the generated client; return her session's access token and id."""
    body = model(api, "SignUpRequest")(email="ada@example.com", password=PASSWORD, name="Ada")
    response = call(api, "auth.auth_signup_create").sync_detailed(client=clients(), body=body)
    assert response.status_code == 201
    return {"token": response.parsed.access_token, "id": str(response.parsed.user_id)}


@pytest.fixture
def bystander(committed_db):
    """Another user with a post, which nothing in a flow may change."""
    profile = make_profile("grace@example.com", name="Grace")
    return profile, make_post(profile, title="Grace's post", published=True)


def assert_untouched(bystander) -> None:
    profile, post = bystander
    assert Profile.objects.get(pk=profile.pk).name == "Grace"
    assert Post.objects.get(pk=post.pk).title == "Grace's post"


def test_sign_up_then_sign_in_gives_tokens_for_the_same_user(api, clients, signed_up, bystander):
    body = model(api, "CredentialsRequest")(email="ada@example.com", password=PASSWORD)

    response = call(api, "auth.auth_signin_create").sync_detailed(client=clients(), body=body)

    assert response.status_code == 200
    assert str(response.parsed.user_id) == signed_up["id"]
    assert response.parsed.token_type == "bearer"
    assert AuthUser.objects.filter(id=signed_up["id"], email="ada@example.com").exists()
    assert_untouched(bystander)


def test_wrong_password_is_the_declared_401(api, clients, signed_up, bystander):
    body = model(api, "CredentialsRequest")(email="ada@example.com", password="not-her-password")

    response = call(api, "auth.auth_signin_create").sync_detailed(client=clients(), body=body)

    assert response.status_code == 401
    assert response.parsed.code == "invalid_credentials"
    assert AuthUser.objects.filter(email="ada@example.com").count() == 1
    assert_untouched(bystander)


def test_post_lifecycle_create_list_get_patch_delete(api, clients, signed_up, bystander):
    ada = clients(signed_up["token"])
    new_post = model(api, "PostRequest")(title="Hello", content=None)

    created = call(api, "posts.posts_create").sync_detailed(client=ada, body=new_post)
    post_id = str(created.parsed.id)
    mine = call(api, "posts.posts_me_list").sync_detailed(client=ada)
    public = call(api, "posts.posts_list").sync_detailed(client=clients())
    read = call(api, "posts.posts_retrieve").sync_detailed(post_id, client=ada)
    published = call(api, "posts.posts_partial_update").sync_detailed(
        post_id,
        client=ada,
        body=model(api, "PatchedPostRequest")(published=True),
        if_match=read.headers["ETag"],
    )
    deleted = call(api, "posts.posts_destroy").sync_detailed(
        post_id, client=ada, if_match=published.headers["ETag"]
    )
    gone = call(api, "posts.posts_retrieve").sync_detailed(post_id, client=ada)

    assert created.status_code == 201
    assert (created.parsed.title, created.parsed.content, created.parsed.published) == (
        "Hello",
        None,
        False,
    )
    assert str(created.parsed.author_id) == signed_up["id"]
    assert [str(p.id) for p in mine.parsed.results] == [post_id]
    assert post_id not in [str(p.id) for p in public.parsed.results]  # a draft
    assert read.status_code == 200
    assert (published.status_code, published.parsed.published) == (200, True)
    assert deleted.status_code == 204
    assert (gone.status_code, gone.parsed.code) == (404, "not_found")
    assert not Post.objects.filter(pk=post_id).exists()
    assert_untouched(bystander)


def test_stale_if_match_is_the_declared_412_and_changes_nothing(api, clients, signed_up, bystander):
    ada = clients(signed_up["token"])
    created = call(api, "posts.posts_create").sync_detailed(
        client=ada, body=model(api, "PostRequest")(title="First")
    )
    stale = created.headers["ETag"]
    call(api, "posts.posts_partial_update").sync_detailed(
        str(created.parsed.id), client=ada, body=model(api, "PatchedPostRequest")(title="Second")
    )

    response = call(api, "posts.posts_partial_update").sync_detailed(
        str(created.parsed.id),
        client=ada,
        body=model(api, "PatchedPostRequest")(title="Third"),
        if_match=stale,
    )

    assert response.status_code == 412
    assert response.parsed.code == "precondition_failed"
    assert Post.objects.get(pk=created.parsed.id).title == "Second"
    assert_untouched(bystander)


def test_unchanged_post_is_the_declared_304(api, clients, signed_up, bystander):
    ada = clients(signed_up["token"])
    created = call(api, "posts.posts_create").sync_detailed(
        client=ada, body=model(api, "PostRequest")(title="Cached", published=True)
    )
    post_id = str(created.parsed.id)
    first = call(api, "posts.posts_retrieve").sync_detailed(post_id, client=clients())

    again = call(api, "posts.posts_retrieve").sync_detailed(
        post_id, client=clients(), if_none_match=first.headers["ETag"]
    )

    assert first.status_code == 200
    assert (again.status_code, again.content) == (304, b"")
    assert Post.objects.filter(pk=post_id, title="Cached").exists()
    assert_untouched(bystander)


def test_my_profile_is_read_then_renamed_with_if_match(api, clients, signed_up, bystander):
    ada = clients(signed_up["token"])

    read = call(api, "profiles.profiles_me_retrieve").sync_detailed(client=ada)
    cached = call(api, "profiles.profiles_me_retrieve").sync_detailed(
        client=ada, if_none_match=read.headers["ETag"]
    )
    renamed = call(api, "profiles.profiles_me_partial_update").sync_detailed(
        client=ada,
        body=model(api, "PatchedMyProfileRequest")(name="Ada Lovelace"),
        if_match=read.headers["ETag"],
    )

    assert read.status_code == 200
    assert (read.parsed.email, read.parsed.name, read.parsed.avatar_url) == (
        "ada@example.com",
        "Ada",
        None,
    )
    assert cached.status_code == 304
    assert (renamed.status_code, renamed.parsed.name) == (200, "Ada Lovelace")
    assert Profile.objects.get(pk=signed_up["id"]).name == "Ada Lovelace"
    assert_untouched(bystander)


def test_refused_token_on_a_public_read_is_the_declared_401(api, clients, supabase, bystander):
    refused = clients("not-a-jwt")

    response = call(api, "posts.posts_list").sync_detailed(client=refused)

    assert response.status_code == 401
    assert response.parsed.code == "token_invalid"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert_untouched(bystander)


def test_public_profile_is_read_anonymously(api, clients, bystander):
    profile, _ = bystander

    response = call(api, "profiles.profiles_retrieve").sync_detailed(
        str(profile.id), client=clients()
    )

    assert response.status_code == 200
    assert (response.parsed.id, response.parsed.name) == (uuid.UUID(str(profile.id)), "Grace")
    assert "email" not in response.parsed.additional_properties
    assert_untouched(bystander)


def test_change_feed_parses_into_posts_and_deletions(api, clients, signed_up, bystander):
    feed = call(api, "posts.posts_changes_retrieve")
    anon, ada = clients(), clients(signed_up["token"])
    start = feed.sync_detailed(client=anon)
    kept, gone = (
        call(api, "posts.posts_create").sync_detailed(
            client=ada, body=model(api, "PostRequest")(title=title, published=True)
        )
        for title in ("Kept", "Gone")
    )
    call(api, "posts.posts_destroy").sync_detailed(str(gone.parsed.id), client=ada)

    changed = feed.sync_detailed(client=anon, since=start.parsed.cursor)
    invalid = feed.sync_detailed(client=anon, since="not-a-cursor")

    assert start.status_code == 200
    assert changed.status_code == 200
    assert [(type(c).__name__, str(c.id)) for c in changed.parsed.changes] == [
        ("Post", str(kept.parsed.id)),
        ("DeletedPost", str(gone.parsed.id)),
    ]
    assert changed.parsed.changes[0].title == "Kept"
    assert changed.parsed.more is False
    assert invalid.status_code == 400
    assert_untouched(bystander)
