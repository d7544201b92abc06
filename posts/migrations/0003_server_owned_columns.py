"""Server-owned post columns: no API grant on ids, timestamps or the author after insert.

- `authenticated` inserts `author_id` (RLS: its own id), `title`, `content`, `published`; the id
  comes from gen_random_uuid(). It updates only `title`, `content` and `published`.
- stamp_timestamps() (profiles 0003) sets created_at/updated_at to now() on writes by the API
  roles; the table owner (migrations, the admin, imports) may still set them.
- CHECKs keep timestamps within what every client can represent; stored values out of range or
  in the future are set to now() first.
"""

import datetime

from django.db import migrations, models

from profiles.timestamps import repair_sql

EARLIEST = datetime.datetime(1, 1, 2, tzinfo=datetime.UTC)
LATEST = datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC)

TRIGGERS = """
drop trigger if exists posts_touch_updated_at on posts;
create trigger posts_stamp_timestamps before insert or update on posts
  for each row execute function public.stamp_timestamps();
"""
TRIGGERS_BACKWARD = """
drop trigger if exists posts_stamp_timestamps on posts;
create trigger posts_touch_updated_at before update on posts
  for each row execute function touch_updated_at();
"""

ACCESS = """
revoke all on table posts from anon, authenticated;
grant select on table posts to anon, authenticated;
grant insert (author_id, title, content, published) on table posts to authenticated;
grant update (title, content, published) on table posts to authenticated;
grant delete on table posts to authenticated;
"""
ACCESS_BACKWARD = """
revoke all on table posts from anon, authenticated;
grant select on table posts to anon, authenticated;
grant insert (id, author_id, title, content, published) on table posts to authenticated;
grant update (title, content, published, updated_at) on table posts to authenticated;
grant delete on table posts to authenticated;
"""


def timestamp_range(column: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q((f"{column}__gte", EARLIEST), (f"{column}__lt", LATEST)),
        name=f"posts_{column}_range",
    )


class Migration(migrations.Migration):
    dependencies = [("posts", "0002_row_level_security"), ("profiles", "0003_server_owned_columns")]

    operations = [
        migrations.RunSQL(repair_sql("posts"), migrations.RunSQL.noop),
        migrations.RunSQL(TRIGGERS, TRIGGERS_BACKWARD),
        migrations.AddConstraint(model_name="post", constraint=timestamp_range("created_at")),
        migrations.AddConstraint(model_name="post", constraint=timestamp_range("updated_at")),
        migrations.RunSQL(ACCESS, ACCESS_BACKWARD),
    ]
