"""Profile and post rows as Supabase sees them: cascades from auth.users and database defaults."""

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection

from posts.models import Post
from profiles.models import Profile
from supabase_auth.models import AuthUser
from tests.factories import make_post


def test_deleting_the_auth_user_deletes_profile_and_posts(author, other_user):
    make_post(author, published=True)
    make_post(author)
    survivor = make_post(other_user)

    with connection.cursor() as cursor:
        cursor.execute("delete from auth.users where id = %s", [author.id])

    assert not Profile.objects.filter(id=author.id).exists()
    assert list(Post.objects.values_list("id", flat=True)) == [survivor.id]
    assert AuthUser.objects.filter(id=other_user.id).exists()


def test_rows_inserted_without_django_get_database_defaults(author):
    with connection.cursor() as cursor:
        cursor.execute(
            "insert into posts (author_id, title) values (%s, 'raw') returning id", [author.id]
        )
        (post_id,) = cursor.fetchone()

    post = Post.objects.get(id=post_id)
    assert post.published is False
    assert post.created_at is not None
    assert post.updated_at is not None


def own_avatar_url(profile_id) -> str:
    bucket = settings.SUPABASE_AVATARS_BUCKET
    return f"{settings.SUPABASE_URL}/storage/v1/object/public/{bucket}/{profile_id}/avatar.png"


def test_model_validation_refuses_the_avatar_urls_the_database_refuses(author):
    # full_clean() asks Postgres (the CHECK's own function), so forms and the table agree.
    author.avatar_url = "javascript:alert(1)"

    with pytest.raises(ValidationError) as refused:
        author.full_clean()

    assert "profiles_avatar_url_own_bucket" in str(refused.value)
    assert Profile.objects.get(id=author.id).avatar_url is None


def test_model_validation_accepts_the_profiles_own_avatar(author, other_user):
    author.avatar_url = own_avatar_url(author.id)
    author.full_clean()
    author.save()

    assert Profile.objects.get(id=author.id).avatar_url == own_avatar_url(author.id)
    assert Profile.objects.get(id=other_user.id).avatar_url is None
