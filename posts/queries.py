"""Who may read which posts, as the hot paths read them: SQL the ORM compiles once per shape.

Building and compiling a queryset cost a third to a half of a read's CPU, the same work each
time (docs/performance.md): these functions keep the rules in ORM terms and let
api/compiled_queries.py run the compiled SQL with each request's values. Rows are named
tuples with the serializer's fields, not model instances.
"""

import uuid

from django.db.models import Q, QuerySet

from api import compiled_queries
from posts.models import Post
from posts.serializers import PostSerializer


def visible_posts(user_id: uuid.UUID | None) -> QuerySet:
    """Return the posts a caller may read: published ones, and their own drafts (as RLS says)."""
    visible = Q(published=True)
    if user_id is not None:
        visible |= Q(author_id=user_id)
    return Post.objects.filter(visible)


def visible_post(post_id: uuid.UUID, user_id: uuid.UUID | None):
    """Return the post as a named row if the caller may read it, else None."""
    values = (post_id,) if user_id is None else (post_id, user_id)

    def build() -> QuerySet:
        return rows_of(visible_posts(user_id).filter(pk=post_id))

    rows = compiled_queries.fetch(("post", user_id is None), build, values)
    return rows[0] if rows else None


def listed(author_id: uuid.UUID | None) -> QuerySet:
    """Return the rows of a list: every published post, or all of one author's posts."""
    if author_id is None:
        return rows_of(Post.objects.filter(published=True))
    return rows_of(Post.objects.filter(author_id=author_id))


def listed_shape(author_id: uuid.UUID | None) -> tuple:
    """Return (key, values) under which `listed(author_id)`'s pages are compiled once."""
    return ("posts", ()) if author_id is None else ("my posts", (author_id,))


def rows_of(posts: QuerySet) -> QuerySet:
    """Fetch posts as named rows of the serializer's fields, not model instances."""
    return posts.values_list(*PostSerializer.Meta.fields, named=True)
