"""The profiles admin: listing, editing names, never forging identities."""

from django.urls import reverse

from tests.factories import make_post


def test_changelist_shows_post_counts(admin_client, author, other_user):
    make_post(author)
    make_post(author)

    response = admin_client.get(reverse("admin:profiles_profile_changelist"))

    assert response.status_code == 200
    counts = {p.email: p.post_count for p in response.context["cl"].result_list}
    assert counts == {"author@example.com": 2, "other@example.com": 0}


def test_staff_edits_a_name_but_not_the_email(admin_client, author):
    url = reverse("admin:profiles_profile_change", args=[author.id])

    response = admin_client.post(
        url, {"name": "Edited", "avatar_url": "", "email": "forged@example.com"}
    )

    assert response.status_code == 302
    author.refresh_from_db()
    assert (author.name, author.email) == ("Edited", "author@example.com")


def test_profiles_cannot_be_added_by_hand(admin_client, db):
    response = admin_client.get(reverse("admin:profiles_profile_add"))

    assert response.status_code == 403
