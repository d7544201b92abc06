"""Profile routes answer with and without the trailing slash, never redirecting."""

import pytest

from profiles.models import Profile
from tests.factories import make_post


@pytest.mark.parametrize("slash", ["", "/"])
def test_me_answers_at_both_spellings(author_client, author, slash):
    response = author_client.get(f"/api/profiles/me{slash}")

    assert response.status_code == 200
    assert response.json()["id"] == str(author.id)


@pytest.mark.parametrize("slash", ["", "/"])
@pytest.mark.parametrize("method", ["put", "patch"])
def test_me_updates_at_both_spellings(author_client, author, method, slash):
    response = getattr(author_client, method)(
        f"/api/profiles/me{slash}", {"name": "Ada"}, format="json"
    )

    assert response.status_code == 200
    assert Profile.objects.get(pk=author.pk).name == "Ada"


@pytest.mark.parametrize("slash", ["", "/"])
def test_public_profile_answers_at_both_spellings(anon_client, author, slash):
    response = anon_client.get(f"/api/profiles/{author.id}{slash}")

    assert response.status_code == 200
    assert response.json()["id"] == str(author.id)


@pytest.mark.parametrize("slash", ["", "/"])
def test_profile_posts_answer_at_both_spellings(anon_client, author, slash):
    post = make_post(author, published=True)

    response = anon_client.get(f"/api/profiles/{author.id}/posts{slash}")

    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [str(post.id)]
