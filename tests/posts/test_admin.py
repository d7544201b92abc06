"""The posts admin: changelist, search by author email, filters and bulk publishing."""

import pytest
from django.urls import reverse

from posts.models import Post
from tests.factories import make_post

CHANGELIST = reverse("admin:posts_post_changelist")


def test_changelist_lists_posts_with_their_author(admin_client, author_posts):
    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == sorted(
        author_posts, key=lambda p: (p.created_at, p.id), reverse=True
    )
    assert b"author@example.com" in response.content


def test_search_finds_posts_by_author_email(admin_client, author, other_user):
    mine = make_post(author)
    make_post(other_user)

    response = admin_client.get(CHANGELIST, {"q": "author@example"})

    assert list(response.context["cl"].result_list) == [mine]


def test_filter_shows_unpublished_posts(admin_client, author_posts):
    _, draft = author_posts

    response = admin_client.get(CHANGELIST, {"published__exact": "0"})

    assert list(response.context["cl"].result_list) == [draft]


@pytest.mark.parametrize(("action", "state"), [("publish", True), ("unpublish", False)])
def test_bulk_action_sets_published(admin_client, author, other_user, action, state):
    selected = [make_post(author, published=not state) for _ in range(3)]
    untouched = make_post(other_user, published=not state)

    response = admin_client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [str(p.id) for p in selected]},
        follow=True,
    )

    assert response.status_code == 200
    assert b"3 post(s)" in response.content
    assert set(Post.objects.filter(published=state).values_list("id", flat=True)) == {
        p.id for p in selected
    }
    untouched.refresh_from_db()
    assert untouched.published is not state


def test_author_autocomplete_searches_profiles(admin_client, author, other_user):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "posts", "model_name": "post", "field_name": "author", "term": "other"},
    )

    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(other_user.id)]


def test_staff_edits_a_post(admin_client, author_posts):
    published, _ = author_posts
    url = reverse("admin:posts_post_change", args=[published.id])

    response = admin_client.post(
        url,
        {"author": str(published.author_id), "title": "Moderated", "content": "", "published": ""},
    )

    assert response.status_code == 302
    published.refresh_from_db()
    assert (published.title, published.published) == ("Moderated", False)


def test_non_staff_users_cannot_reach_the_admin(client, django_user_model):
    user = django_user_model.objects.create_user("visitor", password="pw-visitor-123")
    client.force_login(user)

    response = client.get(CHANGELIST)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))
