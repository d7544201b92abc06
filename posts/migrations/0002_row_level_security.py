"""Cascade posts with their author and enforce the API's rules in Postgres (RLS, realtime).

Anyone reads published posts; a signed-in user reads their own drafts and writes only their own
posts. Policies call `(select auth.uid())` once per statement (initPlan) and are served by
posts_author_feed_idx.
"""

from django.db import migrations

FORWARD = """
alter table posts
  add constraint posts_author_id_fkey foreign key (author_id) references profiles (id)
  on delete cascade;

create trigger posts_touch_updated_at before update on posts
  for each row execute function touch_updated_at();

alter table posts enable row level security;
revoke all on table posts from anon, authenticated;
grant select on table posts to anon, authenticated;
grant insert (id, author_id, title, content, published) on table posts to authenticated;
grant update (title, content, published, updated_at) on table posts to authenticated;
grant delete on table posts to authenticated;

create policy posts_select_published on posts for select to anon, authenticated
  using (published);
create policy posts_select_own on posts for select to authenticated
  using (author_id = (select auth.uid()));
create policy posts_insert_own on posts for insert to authenticated
  with check (author_id = (select auth.uid()));
create policy posts_update_own on posts for update to authenticated
  using (author_id = (select auth.uid()))
  with check (author_id = (select auth.uid()));
create policy posts_delete_own on posts for delete to authenticated
  using (author_id = (select auth.uid()));

-- Realtime (Postgres Changes) streams tables of this publication; Supabase creates it empty.
do $$
begin
  if exists (select from pg_publication where pubname = 'supabase_realtime')
     and not exists (select from pg_publication_rel pr
                     join pg_publication p on p.oid = pr.prpubid
                     where p.pubname = 'supabase_realtime' and pr.prrelid = 'posts'::regclass) then
    alter publication supabase_realtime add table posts;
  end if;
end
$$;
"""

BACKWARD = """
do $$
begin
  if exists (select from pg_publication_rel pr
             join pg_publication p on p.oid = pr.prpubid
             where p.pubname = 'supabase_realtime' and pr.prrelid = 'posts'::regclass) then
    alter publication supabase_realtime drop table posts;
  end if;
end
$$;
drop policy if exists posts_delete_own on posts;
drop policy if exists posts_update_own on posts;
drop policy if exists posts_insert_own on posts;
drop policy if exists posts_select_own on posts;
drop policy if exists posts_select_published on posts;
alter table posts disable row level security;
grant all on table posts to anon, authenticated;
drop trigger if exists posts_touch_updated_at on posts;
alter table posts drop constraint if exists posts_author_id_fkey;
"""


class Migration(migrations.Migration):
    dependencies = [("posts", "0001_initial"), ("profiles", "0002_row_level_security")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
