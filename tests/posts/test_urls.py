"""Post routes answer with and without the trailing slash, never redirecting."""

import pytest

from posts.models import Post
from tests.factories import make_post


@pytest.fixture
def post(author):
    return make_post(author, published=True)


@pytest.mark.parametrize("slash", ["", "/"])
def test_list_answers_at_both_spellings(anon_client, post, slash):
    response = anon_client.get(f"/api/posts{slash}")

    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [str(post.id)]


@pytest.mark.parametrize("slash", ["", "/"])
def test_me_answers_at_both_spellings(author_client, post, slash):
    response = author_client.get(f"/api/posts/me{slash}")

    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [str(post.id)]


@pytest.mark.parametrize("slash", ["", "/"])
def test_create_answers_at_both_spellings(author_client, author, slash):
    response = author_client.post(f"/api/posts{slash}", {"title": "Hello"}, format="json")

    assert response.status_code == 201
    assert Post.objects.get().title == "Hello"


@pytest.mark.parametrize("slash", ["", "/"])
def test_retrieve_answers_at_both_spellings(anon_client, post, slash):
    response = anon_client.get(f"/api/posts/{post.id}{slash}")

    assert response.status_code == 200
    assert response.json()["id"] == str(post.id)


@pytest.mark.parametrize("slash", ["", "/"])
def test_retrieve_accepts_an_uppercase_uuid(anon_client, post, slash):
    response = anon_client.get(f"/api/posts/{str(post.id).upper()}{slash}")

    assert response.status_code == 200
    assert response.json()["id"] == str(post.id)


@pytest.mark.parametrize("slash", ["", "/"])
def test_put_answers_at_both_spellings(author_client, post, slash):
    response = author_client.put(
        f"/api/posts/{post.id}{slash}", {"title": "Put", "published": True}, format="json"
    )

    assert response.status_code == 200
    assert Post.objects.get(pk=post.pk).title == "Put"


@pytest.mark.parametrize("slash", ["", "/"])
def test_patch_answers_at_both_spellings(author_client, post, slash):
    response = author_client.patch(f"/api/posts/{post.id}{slash}", {"title": "P"}, format="json")

    assert response.status_code == 200
    assert Post.objects.get(pk=post.pk).title == "P"


@pytest.mark.parametrize("slash", ["", "/"])
def test_delete_answers_at_both_spellings(author_client, post, slash):
    response = author_client.delete(f"/api/posts/{post.id}{slash}")

    assert response.status_code == 204
    assert not Post.objects.filter(pk=post.pk).exists()
