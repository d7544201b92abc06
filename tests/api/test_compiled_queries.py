"""SQL compiled once per shape must return exactly what the ORM returns, or not be used at all."""

import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.models import IntegerField, Q, Value
from django.test.utils import CaptureQueriesContext

from api import compiled_queries
from api.compiled_queries import compile_queryset
from posts.models import Post
from tests.factories import make_post

FIELDS = ["id", "author_id", "title", "content", "published", "created_at", "updated_at"]

pytestmark = pytest.mark.django_db


def feed(before: datetime, before_id: uuid.UUID):
    older = Q(created_at__lte=before) & (Q(created_at__lt=before) | Q(id__lt=before_id))
    return (
        Post.objects.filter(published=True)
        .filter(older)
        .order_by("-created_at", "-id")
        .values_list(*FIELDS, named=True)[:5]
    )


def visible(post_id: uuid.UUID, user_id: uuid.UUID):
    return Post.objects.filter(Q(published=True) | Q(author_id=user_id), pk=post_id).values_list(
        *FIELDS, named=True
    )


@pytest.fixture
def posts(author, other_user):
    return [make_post(author, published=True) for _ in range(8)] + [
        make_post(other_user, published=False) for _ in range(2)
    ]


def test_a_keyset_page_compiles_with_every_value_located(posts):
    moment, post_id = datetime(2100, 1, 1, tzinfo=UTC), uuid.uuid4()

    compiled = compile_queryset(feed(moment, post_id), (moment, post_id))

    assert compiled is not None
    assert sorted(p for p in compiled.value_positions if p is not None) == [0, 0, 1]


def test_rerun_with_new_values_returns_what_the_orm_returns(posts):
    newest = sorted(posts, key=lambda p: (p.created_at, p.id), reverse=True)
    first = (datetime(2100, 1, 1, tzinfo=UTC), uuid.uuid4())
    compiled = compile_queryset(feed(*first), first)

    for moment, post_id in [first, (newest[2].created_at, newest[2].id)]:
        values = (moment, post_id)
        assert compiled.run(values) == list(feed(*values))
    assert [row.id for row in compiled.run((newest[2].created_at, newest[2].id))] == [
        p.id
        for p in newest
        if p.published and (p.created_at, p.id) < (newest[2].created_at, newest[2].id)
    ][:5]


def test_rows_are_named_like_the_orms(posts):
    values = (datetime(2100, 1, 1, tzinfo=UTC), uuid.uuid4())
    row = compile_queryset(feed(*values), values).run(values)[0]

    assert row._fields == tuple(FIELDS)
    assert isinstance(row.created_at, datetime)
    assert row.created_at.tzinfo is not None


def test_a_draft_is_visible_to_its_author_only(posts, other_user, author):
    draft = posts[-1]
    compiled = compile_queryset(visible(draft.id, other_user.id), (draft.id, other_user.id))

    assert [r.id for r in compiled.run((draft.id, other_user.id))] == [draft.id]
    assert compiled.run((draft.id, author.id)) == []


def test_a_value_the_orm_converts_cannot_be_located_so_nothing_is_compiled(posts):
    post_id = str(posts[0].id)  # the ORM turns it into a UUID: a different object

    assert (
        compile_queryset(Post.objects.filter(pk=post_id).values_list("id", named=True), (post_id,))
        is None
    )


def test_rows_needing_python_conversion_are_left_to_the_orm(posts):
    queryset = Post.objects.annotate(n=Value(1, output_field=IntegerField())).values_list(
        "id", "n", named=True
    )

    assert compile_queryset(queryset, ()) is None


def test_only_named_values_lists_are_compiled(posts):
    assert compile_queryset(Post.objects.all(), ()) is None
    assert compile_queryset(Post.objects.values_list("id"), ()) is None


def test_fetch_compiles_once_and_then_runs_one_statement(posts):
    key = ("test", uuid.uuid4())
    built = []

    def build(values):
        built.append(values)
        return feed(*values)

    first = (datetime(2100, 1, 1, tzinfo=UTC), uuid.uuid4())
    second = (posts[3].created_at, posts[3].id)
    assert compiled_queries.fetch(key, lambda: build(first), first) == list(feed(*first))
    with CaptureQueriesContext(connection) as queries:
        rows = compiled_queries.fetch(key, lambda: build(second), second)

    assert rows == list(feed(*second))
    assert built == [first], "the second call reused the compiled SQL"
    assert len(queries) == 1


def test_fetch_falls_back_to_the_orm_for_a_shape_it_cannot_compile(posts):
    key = ("test", uuid.uuid4())
    post_id = str(posts[0].id)

    def build():
        return Post.objects.filter(pk=post_id).values_list("id", named=True)

    assert compiled_queries.fetch(key, build, (post_id,)) == list(build())
    assert compiled_queries.fetch(key, build, (post_id,)) == list(build())


def test_the_feed_a_post_and_my_posts_are_served_from_compiled_sql(
    anon_client, author_client, posts
):
    """Guards the optimisation itself: a change that stops values being located would
    silently fall back to the ORM, correct but slower."""
    assert anon_client.get("/api/posts/").status_code == 200
    assert anon_client.get(f"/api/posts/{posts[0].id}").status_code == 200
    assert author_client.get(f"/api/posts/{posts[0].id}").status_code == 200
    assert author_client.get("/api/posts/me").status_code == 200

    for key in [("posts", "first", 20), ("post", True), ("post", False), ("my posts", "first", 20)]:
        assert compiled_queries._compiled[key] is not None, key
