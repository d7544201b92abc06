"""Tie profiles to auth.users and enforce the API's rules in Postgres for Supabase's own clients.

A signed-in user reads, creates, changes and deletes only their own profile; `anon` reads none,
so no other role (service_role and the table owner aside) ever sees someone else's email.
Policies call `(select auth.uid())` so Postgres evaluates it once per statement (initPlan).
"""

from django.db import migrations

FORWARD = """
alter table profiles
  add constraint profiles_id_fkey foreign key (id) references auth.users (id) on delete cascade;

-- Rows written by Supabase's clients keep updated_at honest too (the ?updated_after= filter
-- relies on it). Django sets the column itself, so the trigger only fills it when unchanged.
create or replace function touch_updated_at() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  if new.updated_at is not distinct from old.updated_at then
    new.updated_at := now();
  end if;
  return new;
end
$$;
create trigger profiles_touch_updated_at before update on profiles
  for each row execute function touch_updated_at();

alter table profiles enable row level security;
revoke all on table profiles from anon, authenticated;
grant select, insert, delete on table profiles to authenticated;
-- The email comes from Supabase Auth, the id from the token: neither is the user's to edit.
grant update (name, avatar_url, updated_at) on table profiles to authenticated;

create policy profiles_select_own on profiles for select to authenticated
  using (id = (select auth.uid()));
create policy profiles_insert_own on profiles for insert to authenticated
  with check (
    id = (select auth.uid())
    and email = coalesce((select auth.jwt() ->> 'email'), '')
  );
create policy profiles_update_own on profiles for update to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));
create policy profiles_delete_own on profiles for delete to authenticated
  using (id = (select auth.uid()));
"""

BACKWARD = """
drop policy if exists profiles_delete_own on profiles;
drop policy if exists profiles_update_own on profiles;
drop policy if exists profiles_insert_own on profiles;
drop policy if exists profiles_select_own on profiles;
alter table profiles disable row level security;
grant all on table profiles to anon, authenticated;
drop trigger if exists profiles_touch_updated_at on profiles;
drop function if exists touch_updated_at();
alter table profiles drop constraint if exists profiles_id_fkey;
"""


class Migration(migrations.Migration):
    dependencies = [("profiles", "0001_initial")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
