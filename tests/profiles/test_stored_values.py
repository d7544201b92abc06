"""Profile reads survive timestamps Python's datetime cannot hold (rows from before the checks)."""

import pytest
from django.db import connection
from django.urls import reverse

from profiles.models import Profile

FAR_FUTURE = "9999-12-31T23:59:59.999999Z"


def store_raw(profile: Profile, column: str, value: str) -> None:
    """Write a timestamp as the owner, past the range constraint (dropped in this test only)."""
    with connection.cursor() as cursor:
        cursor.execute(f"alter table profiles drop constraint if exists profiles_{column}_range")
        cursor.execute(f"update profiles set {column} = %s where id = %s", [value, profile.id])  # noqa: S608


@pytest.fixture
def poisoned(author):
    store_raw(author, "created_at", "infinity")
    store_raw(author, "updated_at", "infinity")
    return author


def test_public_profile_with_infinite_timestamps_is_readable(anon_client, poisoned, other_user):
    response = anon_client.get(f"/api/profiles/{poisoned.id}")

    assert response.status_code == 200
    assert response.json() == {
        "id": str(poisoned.id),
        "name": "Author",
        "avatar_url": None,
        "created_at": FAR_FUTURE,
        "updated_at": FAR_FUTURE,
    }


def test_owner_with_infinite_timestamps_still_signs_in(author_client, poisoned):
    response = author_client.get("/api/profiles/me")

    assert response.status_code == 200
    assert (response.json()["email"], response.json()["updated_at"]) == (
        "author@example.com",
        FAR_FUTURE,
    )


def test_admin_changelist_with_date_hierarchy_survives_infinite_created_at(
    admin_client, poisoned, other_user
):
    response = admin_client.get(reverse("admin:profiles_profile_changelist"))

    assert response.status_code == 200
    assert {p.id for p in response.context["cl"].result_list} == {poisoned.id, other_user.id}
