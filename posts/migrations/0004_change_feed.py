"""The change feed's record: every write to a post, in the writing transaction's id order.

- `post_changes`: one row per inserted, updated or deleted post, written by a trigger (so the
  Data API's and the admin's writes are recorded too), with the writing transaction's
  top-level id (`xid8`) and who could see the post before and after; never its content.
- `post_change_checkpoints`: the oldest running transaction at moments in time, so that
  pruning can keep "the last N hours" exactly (`prune_post_changes(retention)`): changes of
  transactions older than the last checkpoint taken at least `retention` ago are deleted,
  and cursors older than it are refused (posts/changes.py).
- The API roles read both through RLS: a change is visible to whoever could see the post
  before or after it (published, or their own), so a draft's life stays its author's.
"""

from django.db import migrations, models

import posts.models
import profiles.models

TRIGGER = """
create or replace function public.record_post_change() returns trigger
  language plpgsql security definer
  set search_path = ''
  as $$
begin
  if tg_op = 'INSERT' then
    insert into public.post_changes
      (post_id, old_author_id, new_author_id, was_published, is_published)
    values (new.id, null, new.author_id, false, new.published);
  elsif tg_op = 'DELETE' then
    insert into public.post_changes
      (post_id, old_author_id, new_author_id, was_published, is_published)
    values (old.id, old.author_id, null, old.published, false);
  elsif new.id = old.id then
    insert into public.post_changes
      (post_id, old_author_id, new_author_id, was_published, is_published)
    values (new.id, old.author_id, new.author_id, old.published, new.published);
  else
    -- A changed id (only the owner can change one): the old post gone, a new one made.
    insert into public.post_changes
      (post_id, old_author_id, new_author_id, was_published, is_published)
    values (old.id, old.author_id, null, old.published, false),
           (new.id, null, new.author_id, false, new.published);
  end if;
  return null;
end
$$;
revoke all on function public.record_post_change() from public, anon, authenticated;
create trigger posts_record_changes after insert or update or delete on public.posts
  for each row execute function public.record_post_change();
"""
TRIGGER_BACKWARD = """
drop trigger if exists posts_record_changes on public.posts;
drop function if exists public.record_post_change();
"""

PRUNE = """
create or replace function public.prune_post_changes(retention interval) returns xid8
  language plpgsql security definer
  set search_path = ''
  as $$
declare
  boundary public.post_change_checkpoints%rowtype;
begin
  -- One pruner at a time; the others leave at once.
  if not pg_try_advisory_xact_lock(hashtext('public.prune_post_changes')) then
    return null;
  end if;
  insert into public.post_change_checkpoints (horizon)
    values (pg_snapshot_xmin(pg_current_snapshot()));
  select * into boundary from public.post_change_checkpoints
    where taken_at <= now() - retention order by taken_at desc, id desc limit 1;
  if found then
    -- Every transaction older than boundary.horizon had finished `retention` ago.
    delete from public.post_changes where xid < boundary.horizon;
    delete from public.post_change_checkpoints
      where id <> boundary.id and taken_at <= boundary.taken_at;
  end if;
  return boundary.horizon;
end
$$;
revoke all on function public.prune_post_changes(interval) from public, anon, authenticated;
"""
PRUNE_BACKWARD = "drop function if exists public.prune_post_changes(interval);"

ACCESS = """
revoke all on table post_changes, post_change_checkpoints from anon, authenticated;
do $$
begin
  execute format('revoke all on sequence %s, %s from anon, authenticated',
    pg_get_serial_sequence('post_changes', 'seq'),
    pg_get_serial_sequence('post_change_checkpoints', 'id'));
end
$$;
grant select on table post_changes, post_change_checkpoints to anon, authenticated;
alter table post_changes enable row level security;
alter table post_change_checkpoints enable row level security;
-- The same rule as the feed's own query (posts/changes.py): the post was visible to the
-- caller before or after the write.
create policy post_changes_select_seen on post_changes for select to anon, authenticated
  using (was_published or is_published
         or old_author_id = (select auth.uid()) or new_author_id = (select auth.uid()));
-- Moments and transaction ids only: where cursors stop being valid.
create policy post_change_checkpoints_select_all on post_change_checkpoints
  for select to anon, authenticated using (true);
"""
ACCESS_BACKWARD = """
drop policy if exists post_change_checkpoints_select_all on post_change_checkpoints;
drop policy if exists post_changes_select_seen on post_changes;
"""


class Migration(migrations.Migration):
    dependencies = [("posts", "0003_server_owned_columns")]

    operations = [
        migrations.CreateModel(
            name="PostChange",
            fields=[
                ("seq", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "xid",
                    posts.models.Xid8Field(db_default=posts.models.CurrentTransactionId()),
                ),
                ("post_id", models.UUIDField()),
                ("old_author_id", models.UUIDField(null=True)),
                ("new_author_id", models.UUIDField(null=True)),
                ("was_published", models.BooleanField()),
                ("is_published", models.BooleanField()),
            ],
            options={
                "db_table": "post_changes",
                "indexes": [models.Index(fields=["xid"], name="post_changes_xid_idx")],
            },
        ),
        migrations.CreateModel(
            name="PostChangeCheckpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("taken_at", models.DateTimeField(db_default=profiles.models.TransactionNow())),
                ("horizon", posts.models.Xid8Field()),
            ],
            options={
                "db_table": "post_change_checkpoints",
                "indexes": [
                    models.Index(fields=["taken_at"], name="post_change_checkpoints_at_idx")
                ],
            },
        ),
        migrations.RunSQL(ACCESS, ACCESS_BACKWARD),
        migrations.RunSQL(TRIGGER, TRIGGER_BACKWARD),
        migrations.RunSQL(PRUNE, PRUNE_BACKWARD),
    ]
