"""Profile and post rows as Supabase sees them: cascades from auth.users and database defaults."""

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
