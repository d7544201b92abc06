"""The profiles admin: listing, editing names, never forging identities."""

from django.conf import settings
from django.urls import reverse

from profiles.models import Profile
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


def test_staff_cannot_type_an_avatar_url(admin_client, author):
    url = reverse("admin:profiles_profile_change", args=[author.id])

    response = admin_client.post(url, {"name": "Author", "avatar_url": "javascript:alert(1)"})

    assert response.status_code == 302
    author.refresh_from_db()
    assert (author.name, author.avatar_url) == ("Author", None)


def test_staff_remove_avatars_of_selected_profiles(admin_client, author, other_user):
    bucket_url = f"{settings.SUPABASE_URL}/storage/v1/object/public/avatars"
    for profile in (author, other_user):
        Profile.objects.filter(id=profile.id).update(
            avatar_url=f"{bucket_url}/{profile.id}/avatar.png"
        )

    response = admin_client.post(
        reverse("admin:profiles_profile_changelist"),
        {"action": "remove_avatar", "_selected_action": [str(author.id)]},
        follow=True,
    )

    assert response.status_code == 200
    assert b"1 avatar(s) removed." in response.content
    assert Profile.objects.get(id=author.id).avatar_url is None
    assert (
        Profile.objects.get(id=other_user.id).avatar_url
        == f"{bucket_url}/{other_user.id}/avatar.png"
    )
