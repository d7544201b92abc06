"""Post writes within the API roles' column grants: the database fills ids and timestamps.

`authenticated` may insert `author_id, title, content, published` and update `title, content,
published` (posts/migrations/0003). Naming any other column is refused even with DEFAULT, so
these statements name only those, let the column defaults and the stamp_timestamps trigger
fill the rest, and read back what was stored (RETURNING: one round trip). The same statements
run in both DATABASE_RLS modes, so what the API stores does not depend on the mode.
"""

import uuid

from django.db import connections, router

from posts.models import Post

RETURNED = ("id", "author_id", "title", "content", "published", "created_at", "updated_at")
INSERT_SQL = f"""
insert into posts (author_id, title, content, published)
values (%(author_id)s, %(title)s, %(content)s, %(published)s)
returning {", ".join(RETURNED)}
"""  # noqa: S608 - only the constant column list is interpolated
# A field not sent keeps its value; the row is written either way, so updated_at moves, as a
# PATCH of no fields always did.
UPDATE_SQL = f"""
update posts set
  title = case when %(title_sent)s then %(title)s else title end,
  content = case when %(content_sent)s then %(content)s else content end,
  published = case when %(published_sent)s then %(published)s else published end
where id = %(id)s
returning {", ".join(RETURNED)}
"""  # noqa: S608 - only the constant column list is interpolated
UPDATED = ("title", "content", "published")


def insert(values: dict) -> Post:
    """Insert a post from the author and the fields sent; return it as stored."""
    published = Post._meta.get_field("published").get_default()
    params = {"content": None, "published": published} | values
    return _one(INSERT_SQL, params)


def update(post_id: uuid.UUID, values: dict) -> Post | None:
    """Change the fields sent; return the post as stored, or None if it is gone."""
    params = {"id": post_id}
    for name in UPDATED:
        params[f"{name}_sent"] = name in values
        params[name] = values.get(name)
    return _one(UPDATE_SQL, params)


def _one(sql: str, params: dict) -> Post | None:
    alias = router.db_for_write(Post)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return None if row is None else Post.from_db(alias, RETURNED, row)
