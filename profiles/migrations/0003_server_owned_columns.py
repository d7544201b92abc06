"""Server-owned profile columns, public profiles for everyone, and the owner's email by function.

- `anon` and `authenticated` read `id, name, avatar_url, created_at, updated_at` of every
  profile (column grants) and never `email`: the owner reads their own through `my_profile()`,
  a security-definer function that returns only the caller's row (docs/data.md).
- `authenticated` may create its own profile (`id`, `email` from its token, `name`) and change
  its `name`; ids, timestamps and `avatar_url` are the server's (no grant).
- stamp_timestamps() sets created_at/updated_at to now() on writes by the API roles; the table
  owner (migrations, the admin, imports) may still set them.
- CHECKs keep timestamps within what every client can represent, and `avatar_url` inside this
  project's avatar bucket (profiles.avatar_urls keeps the bucket's URL in sync with settings).
Bad values already stored are repaired first: timestamps out of range or in the future become
now(), avatar URLs outside the bucket become null.
"""

import datetime

from django.db import migrations, models

import profiles.models
from profiles.timestamps import repair_sql

EARLIEST = datetime.datetime(1, 1, 2, tzinfo=datetime.UTC)
LATEST = datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC)

STAMP_FUNCTION = """
create or replace function public.stamp_timestamps() returns trigger
  language plpgsql
  set search_path = ''
  as $$
begin
  -- Supabase's API roles (the Data API) never choose a row's timestamps.
  if current_user in ('anon', 'authenticated') then
    if tg_op = 'INSERT' then
      new.created_at := now();
    else
      new.created_at := old.created_at;
    end if;
    new.updated_at := now();
  -- Others may set them (imports); a write that leaves updated_at alone still moves it.
  elsif tg_op = 'UPDATE' and new.updated_at is not distinct from old.updated_at then
    new.updated_at := now();
  end if;
  return new;
end
$$;
"""

TRIGGERS = """
drop trigger if exists profiles_touch_updated_at on profiles;
create trigger profiles_stamp_timestamps before insert or update on profiles
  for each row execute function public.stamp_timestamps();
"""
TRIGGERS_BACKWARD = """
drop trigger if exists profiles_stamp_timestamps on profiles;
create trigger profiles_touch_updated_at before update on profiles
  for each row execute function touch_updated_at();
"""

AVATAR_FUNCTION = r"""
create or replace function public.profile_avatar_url_ok(profile_id uuid, url text)
  returns boolean
  language sql immutable parallel safe
  set search_path = ''
  as $$
  select coalesce(
    public.profile_avatar_url_prefix() <> ''
    and starts_with(url, public.profile_avatar_url_prefix())
    and substr(url, length(public.profile_avatar_url_prefix()) + 1)
        ~ ('^' || profile_id::text || '/avatar\.(png|jpg|webp|gif)(\?v=[0-9a-f]{1,64})?$'),
    false
  )
$$;
-- Every role that writes profiles evaluates the CHECK, so it needs EXECUTE on both functions;
-- granted here rather than assumed from Supabase's default privileges (SUPABASE.md §6).
grant execute on function public.profile_avatar_url_prefix(), public.profile_avatar_url_ok(uuid, text)
  to anon, authenticated, service_role;
update profiles set avatar_url = null
where avatar_url is not null and not public.profile_avatar_url_ok(id, avatar_url);
"""
AVATAR_FUNCTION_BACKWARD = """
drop function if exists public.profile_avatar_url_ok(uuid, text);
drop function if exists public.profile_avatar_url_prefix();
"""

ACCESS = """
revoke all on table profiles from anon, authenticated;
grant select (id, name, avatar_url, created_at, updated_at) on table profiles
  to anon, authenticated;
grant insert (id, email, name) on table profiles to authenticated;
grant update (name) on table profiles to authenticated;
grant delete on table profiles to authenticated;

drop policy if exists profiles_select_own on profiles;
create policy profiles_select_public on profiles for select to anon, authenticated
  using (true);

-- The caller's own profile, email included. Security definer: it reads the email column the
-- caller has no grant on, and only the row whose id is the caller's token's sub.
create or replace function public.my_profile()
  returns table (
    id uuid, email text, name text, avatar_url text,
    created_at timestamptz, updated_at timestamptz
  )
  language sql stable security definer
  set search_path = ''
  rows 1
  as $$
  select p.id, p.email, p.name, p.avatar_url, p.created_at, p.updated_at
  from public.profiles as p
  where p.id = (select auth.uid())
$$;
revoke all on function public.my_profile() from public, anon;
grant execute on function public.my_profile() to authenticated;
"""
ACCESS_BACKWARD = """
drop function if exists public.my_profile();
drop policy if exists profiles_select_public on profiles;
create policy profiles_select_own on profiles for select to authenticated
  using (id = (select auth.uid()));
revoke all on table profiles from anon, authenticated;
grant select, insert, delete on table profiles to authenticated;
grant update (name, avatar_url, updated_at) on table profiles to authenticated;
"""


def install_avatar_prefix(apps, schema_editor) -> None:
    from profiles.avatar_urls import bucket_prefix, install_prefix

    install_prefix(schema_editor.connection, bucket_prefix())


def timestamp_range(column: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=models.Q((f"{column}__gte", EARLIEST), (f"{column}__lt", LATEST)),
        name=f"profiles_{column}_range",
    )


class Migration(migrations.Migration):
    dependencies = [("profiles", "0002_row_level_security")]

    operations = [
        migrations.RunSQL(STAMP_FUNCTION, "drop function if exists public.stamp_timestamps();"),
        migrations.RunSQL(repair_sql("profiles"), migrations.RunSQL.noop),
        migrations.RunSQL(TRIGGERS, TRIGGERS_BACKWARD),
        migrations.AddConstraint(model_name="profile", constraint=timestamp_range("created_at")),
        migrations.AddConstraint(model_name="profile", constraint=timestamp_range("updated_at")),
        migrations.RunPython(install_avatar_prefix, migrations.RunPython.noop),
        migrations.RunSQL(AVATAR_FUNCTION, AVATAR_FUNCTION_BACKWARD),
        migrations.AddConstraint(
            model_name="profile",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("avatar_url__isnull", True),
                    profiles.models.AvatarUrlAllowed(models.F("id"), models.F("avatar_url")),
                    _connector="OR",
                ),
                name="profiles_avatar_url_own_bucket",
            ),
        ),
        migrations.RunSQL(ACCESS, ACCESS_BACKWARD),
    ]
