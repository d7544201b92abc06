"""PostViewSet over HTTP: who may read and change which post, create, and the cost of a list."""

import uuid

import pytest

from posts.models import Post
from tests.factories import make_post

ROLES = {"author": "author_client", "other_user": "other_user_client", "anon": "anon_client"}
UPDATE = {"title": "Changed", "content": "Changed body", "published": True}
NOT_AUTHENTICATED = {
    "detail": "Authentication credentials were not provided.",
    "code": "not_authenticated",
}
NOT_FOUND = {"detail": "Not found.", "code": "not_found"}
NOT_AUTHOR = {"detail": "Only the author can change this post.", "code": "not_author"}


def row(post_id) -> dict | None:
    """Return the post's stored columns, or None when the row is gone."""
    return Post.objects.filter(pk=post_id).values().first()


def as_json(post: Post) -> dict:
    """Return the representation the API gives of a stored post."""
    post.refresh_from_db()
    return {
        "id": str(post.id),
        "author_id": str(post.author_id),
        "title": post.title,
        "content": post.content,
        "published": post.published,
        "created_at": post.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": post.updated_at.isoformat().replace("+00:00", "Z"),
    }


@pytest.fixture
def posts(author_posts):
    published, draft = author_posts
    return {"published": published, "draft": draft}


@pytest.fixture
def bystander_post(other_user):
    """Another author's post: the negative control no request here may touch."""
    post = make_post(other_user, published=True)
    return post, row(post.id)


def send(client, method: str, path: str):
    if method in ("put", "patch"):
        return getattr(client, method)(path, UPDATE, format="json")
    return getattr(client, method)(path)


# --- one post: GET ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "kind", "status"),
    [
        ("author", "published", 200),
        ("author", "draft", 200),
        ("other_user", "published", 200),
        ("other_user", "draft", 404),
        ("anon", "published", 200),
        ("anon", "draft", 404),
    ],
)
def test_retrieve_shows_published_posts_and_own_drafts_only(request, posts, role, kind, status):
    client = request.getfixturevalue(ROLES[role])
    post = posts[kind]

    response = client.get(f"/api/posts/{post.id}")

    assert response.status_code == status
    assert response.json() == (as_json(post) if status == 200 else NOT_FOUND)


def test_retrieve_of_unknown_id_is_json_404(anon_client, posts):
    response = anon_client.get(f"/api/posts/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# --- one post: refused writes -----------------------------------------------------------------

REFUSED = [
    ("other_user", "published", 403, NOT_AUTHOR),
    ("other_user", "draft", 404, NOT_FOUND),
    ("anon", "published", 401, NOT_AUTHENTICATED),
    ("anon", "draft", 401, NOT_AUTHENTICATED),
]


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize(("role", "kind", "status", "body"), REFUSED)
def test_write_by_non_author_is_refused_and_changes_nothing(
    request, posts, bystander_post, method, role, kind, status, body
):
    client = request.getfixturevalue(ROLES[role])
    post = posts[kind]
    before = row(post.id)

    response = send(client, method, f"/api/posts/{post.id}")

    assert response.status_code == status
    assert response.json() == body
    assert row(post.id) == before
    assert row(bystander_post[0].id) == bystander_post[1]


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_anonymous_write_challenges_for_a_bearer_token(anon_client, posts, method):
    response = send(anon_client, method, f"/api/posts/{posts['published'].id}")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


# --- one post: the author's writes -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["published", "draft"])
def test_author_replaces_own_post_with_put(
    transactional_db, author_client, posts, bystander_post, kind
):
    # Committed, as in production: the database stamps updated_at with its transaction's now(),
    # which a test transaction would freeze at its start.
    post = posts[kind]

    response = author_client.put(f"/api/posts/{post.id}", UPDATE, format="json")

    assert response.status_code == 200
    assert response.json() == as_json(post)
    stored = row(post.id)
    assert (stored["title"], stored["content"], stored["published"]) == (
        "Changed",
        "Changed body",
        True,
    )
    assert stored["updated_at"] > stored["created_at"]
    assert row(bystander_post[0].id) == bystander_post[1]


@pytest.mark.parametrize("kind", ["published", "draft"])
def test_author_changes_one_field_with_patch(author_client, posts, bystander_post, kind):
    post = posts[kind]
    before = row(post.id)

    response = author_client.patch(f"/api/posts/{post.id}", {"title": "Renamed"}, format="json")

    assert response.status_code == 200
    assert response.json()["title"] == "Renamed"
    after = row(post.id)
    assert after == before | {"title": "Renamed", "updated_at": after["updated_at"]}
    assert row(bystander_post[0].id) == bystander_post[1]


@pytest.mark.parametrize("kind", ["published", "draft"])
def test_author_deletes_own_post(author_client, posts, bystander_post, kind):
    post = posts[kind]

    response = author_client.delete(f"/api/posts/{post.id}")

    assert response.status_code == 204
    assert response.content == b""
    assert row(post.id) is None
    assert row(bystander_post[0].id) == bystander_post[1]


def test_put_without_a_title_is_400_and_changes_nothing(author_client, posts):
    post = posts["published"]
    before = row(post.id)

    response = author_client.put(f"/api/posts/{post.id}", {"content": "x"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"title": ["This field is required."]}
    assert row(post.id) == before


def test_author_cannot_move_a_post_to_another_author(author_client, other_user, posts):
    post = posts["published"]

    response = author_client.patch(
        f"/api/posts/{post.id}", {"author_id": str(other_user.id)}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["author_id"] == str(post.author_id)
    assert row(post.id)["author_id"] == post.author_id


# --- list, me, create ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["author", "other_user", "anon"])
def test_list_shows_only_published_posts_to_everyone(request, posts, bystander_post, role):
    client = request.getfixturevalue(ROLES[role])

    response = client.get("/api/posts/")

    assert response.status_code == 200
    body = response.json()
    assert body["next"] is None
    assert body["previous"] is None
    assert [p["id"] for p in body["results"]] == [
        str(bystander_post[0].id),
        str(posts["published"].id),
    ]
    assert body["results"][1] == as_json(posts["published"])


def test_me_lists_the_callers_posts_with_drafts(author_client, posts, bystander_post):
    response = author_client.get("/api/posts/me")

    assert response.status_code == 200
    assert response.json() == {
        "next": None,
        "previous": None,
        "results": [as_json(posts["draft"]), as_json(posts["published"])],
    }


def test_me_never_shows_another_users_posts(other_user_client, posts, bystander_post):
    response = other_user_client.get("/api/posts/me")

    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [str(bystander_post[0].id)]


def test_me_needs_a_token(anon_client, posts):
    response = anon_client.get("/api/posts/me")

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_create_makes_the_caller_the_author(author_client, author, other_user):
    response = author_client.post(
        "/api/posts/", {"title": "Hello", "content": "World", "published": True}, format="json"
    )

    assert response.status_code == 201
    post = Post.objects.get()
    assert response.json() == as_json(post)
    assert (post.author_id, post.title, post.content, post.published) == (
        author.id,
        "Hello",
        "World",
        True,
    )
    assert not other_user.posts.exists()


def test_create_makes_a_draft_by_default(author_client):
    response = author_client.post("/api/posts/", {"title": "Hello"}, format="json")

    assert response.status_code == 201
    assert response.json()["published"] is False
    assert response.json()["content"] is None
    assert Post.objects.get().published is False


def test_create_ignores_author_id_id_and_timestamps_in_the_body(author_client, author, other_user):
    chosen_id = uuid.uuid4()
    body = {
        "title": "Hello",
        "author_id": str(other_user.id),
        "author": str(other_user.id),
        "id": str(chosen_id),
        "created_at": "2000-01-01T00:00:00Z",
        "updated_at": "2000-01-01T00:00:00Z",
    }

    response = author_client.post("/api/posts/", body, format="json")

    assert response.status_code == 201
    post = Post.objects.get()
    assert post.author_id == author.id
    assert post.id != chosen_id
    assert post.created_at.year > 2000
    assert post.updated_at.year > 2000
    assert response.json() == as_json(post)
    assert not other_user.posts.exists()


def test_anonymous_create_is_401_and_writes_nothing(anon_client, db):
    response = anon_client.post("/api/posts/", {"title": "Hello"}, format="json")

    assert response.status_code == 401
    assert response.json() == NOT_AUTHENTICATED
    assert not Post.objects.exists()


# --- cost: queries per request do not grow with the page ----------------------------------------


def make_published(author, count: int) -> None:
    Post.objects.bulk_create(
        Post(author=author, title=f"Post {n}", published=True) for n in range(count)
    )


@pytest.mark.parametrize("rows", [1, 100])
def test_list_costs_one_query_whatever_the_page_size(
    anon_client, author, django_assert_num_queries, rows
):
    make_published(author, rows)

    with django_assert_num_queries(1):
        response = anon_client.get("/api/posts/", {"page_size": 100})

    assert response.status_code == 200
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize("rows", [1, 100])
def test_me_costs_the_auth_query_plus_one_whatever_the_page_size(
    author_client, author, django_assert_num_queries, rows
):
    make_published(author, rows)

    with django_assert_num_queries(2):  # the profile for the token, then the page
        response = author_client.get("/api/posts/me", {"page_size": 100})

    assert response.status_code == 200
    assert len(response.json()["results"]) == rows


@pytest.mark.parametrize(
    ("who", "offers_put"), [("author", True), ("other_user", False), ("anon", False)]
)
def test_options_on_a_post_offers_put_only_to_its_author_in_autocommit(
    request, committed_db, author, other_user, who, offers_put
):
    # committed_db: no test transaction around the request, as in production (a row lock
    # taken for OPTIONS outside a transaction would be a 500).
    post = make_post(author, published=True)
    before = row(post.id)

    response = request.getfixturevalue(ROLES[who]).options(f"/api/posts/{post.id}")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Post Instance"
    assert ("PUT" in body.get("actions", {})) is offers_put
    assert row(post.id) == before


@pytest.mark.parametrize(("who", "offers_post"), [("author", True), ("anon", False)])
def test_options_on_the_feed_offers_post_only_to_a_signed_in_caller(request, db, who, offers_post):
    response = request.getfixturevalue(ROLES[who]).options("/api/posts/")

    assert response.status_code == 200
    assert ("POST" in response.json().get("actions", {})) is offers_post
    assert not Post.objects.exists()
