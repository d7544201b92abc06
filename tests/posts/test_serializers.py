"""PostSerializer through the API: what a post may contain, and what clients may not set."""

import pytest
from rest_framework.exceptions import NotFound

from posts.models import Post
from posts.serializers import PostSerializer
from tests.factories import make_post
from tests.support.grants import granted_columns

TOO_LONG_TITLE = ["Ensure this field has no more than 200 characters."]
NUL = ["Null characters are not allowed."]


def create(client, body: dict):
    return client.post("/api/posts/", body, format="json")


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"content": "no title"}, {"title": ["This field is required."]}),
        ({"title": ""}, {"title": ["This field may not be blank."]}),
        ({"title": " \t\n "}, {"title": ["This field may not be blank."]}),
        ({"title": None}, {"title": ["This field may not be null."]}),
        ({"title": ["a list"]}, {"title": ["Not a valid string."]}),
        ({"title": "x" * 201}, {"title": TOO_LONG_TITLE}),
        ({"title": "  " + "x" * 201 + "  "}, {"title": TOO_LONG_TITLE}),
        ({"title": "a\x00b"}, {"title": NUL}),
        ({"title": "ok", "content": "a\x00b"}, {"content": NUL}),
        (
            {"title": "ok", "content": "x" * 100_001},
            {"content": ["Ensure this field has no more than 100000 characters."]},
        ),
        ({"title": "ok", "published": "maybe"}, {"published": ["Must be a valid boolean."]}),
        ({"title": "ok", "published": None}, {"published": ["This field may not be null."]}),
    ],
    ids=[
        "missing-title",
        "blank-title",
        "whitespace-title",
        "null-title",
        "list-title",
        "title-201",
        "title-201-after-trim",
        "nul-in-title",
        "nul-in-content",
        "content-100001",
        "published-garbage",
        "published-null",
    ],
)
def test_create_refuses_invalid_input_with_field_errors(author_client, body, errors):
    response = create(author_client, body)

    assert response.status_code == 400
    assert response.json() == errors
    assert not Post.objects.exists()


def test_lone_surrogate_in_title_is_400(author_client):
    response = author_client.generic(
        "POST", "/api/posts/", b'{"title": "a\\ud800b"}', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"title": ["Surrogate characters are not allowed: U+D800."]}
    assert not Post.objects.exists()


def test_title_of_200_chars_with_surrounding_spaces_is_stored_trimmed(author_client):
    title = "x" * 200

    response = create(author_client, {"title": f"  {title}\t "})

    assert response.status_code == 201
    assert response.json()["title"] == title
    assert Post.objects.get().title == title


def test_content_of_100000_chars_is_accepted_verbatim(author_client):
    content = "  é" + "x" * 99_995 + "\n "  # 100,000 characters; content is not trimmed

    response = create(author_client, {"title": "Long", "content": content})

    assert response.status_code == 201
    assert Post.objects.get().content == content


def test_blank_content_is_kept_blank(author_client):
    response = create(author_client, {"title": "Empty", "content": ""})

    assert response.status_code == 201
    assert response.json()["content"] == ""
    assert Post.objects.get().content == ""


@pytest.mark.parametrize(("raw", "stored"), [(True, True), ("false", False), (1, True)])
def test_published_accepts_json_booleans_and_drf_spellings(author_client, raw, stored):
    response = create(author_client, {"title": "Flag", "published": raw})

    assert response.status_code == 201
    assert Post.objects.get().published is stored


def test_invalid_patch_leaves_the_post_unchanged(author_client, author):
    post = make_post(author, published=True)
    before = Post.objects.filter(pk=post.pk).values().get()

    response = author_client.patch(f"/api/posts/{post.id}", {"title": "   "}, format="json")

    assert response.status_code == 400
    assert response.json() == {"title": ["This field may not be blank."]}
    assert Post.objects.filter(pk=post.pk).values().get() == before


def test_each_serializer_binds_its_own_copies_of_the_declared_fields():
    """get_fields() copies shallowly for speed: binding must still not leak between instances."""
    first, second = PostSerializer(data={"title": ""}), PostSerializer(data={"title": "ok"})

    assert first.fields["title"] is not second.fields["title"]
    assert first.fields["title"] is not PostSerializer._declared_fields["title"]
    assert first.fields["title"].parent is first
    assert second.fields["title"].parent is second
    assert PostSerializer._declared_fields["title"].parent is None  # declared field never bound
    assert not first.is_valid()
    assert second.is_valid(), second.errors


def test_updating_a_post_deleted_meanwhile_is_not_found(author):
    """A DELETE that commits between reading and writing a post: 404, not a 500."""
    post = make_post(author, published=True)
    serializer = PostSerializer(post, data={"title": "Too late"}, partial=True)
    assert serializer.is_valid(), serializer.errors
    Post.objects.filter(pk=post.pk).delete()

    with pytest.raises(NotFound):
        serializer.save()


def writable_fields() -> set[str]:
    return {name for name, field in PostSerializer().fields.items() if not field.read_only}


@pytest.mark.django_db
def test_the_data_api_updates_only_what_the_api_lets_an_author_change():
    assert writable_fields() == {"title", "content", "published"}
    assert granted_columns("posts", "authenticated", "UPDATE") == writable_fields()
    assert granted_columns("posts", "anon", "UPDATE") == set()


@pytest.mark.django_db
def test_the_data_api_inserts_what_the_api_does_plus_the_author_rls_checks():
    # The API sets author_id from the token; a Data API client sends its own, which RLS checks.
    assert granted_columns("posts", "authenticated", "INSERT") == writable_fields() | {"author_id"}
    assert granted_columns("posts", "anon", "INSERT") == set()
