-- Supabase Storage setup for avatars (run once in the SQL editor, or with psql as postgres).
-- The API uploads to bucket `avatars` at `{user_id}/avatar.{png,jpg,webp,gif}` with the
-- caller's own access token, so these policies, not the API, decide what Storage accepts.

-- A public bucket: avatar URLs work without a signed URL. 2 MiB, images only.
insert into storage.buckets (id, name, public, file_size_limit, allowed_mime_types)
values ('avatars', 'avatars', true, 2097152,
        array['image/png', 'image/jpeg', 'image/webp', 'image/gif'])
on conflict (id) do update
  set public = excluded.public,
      file_size_limit = excluded.file_size_limit,
      allowed_mime_types = excluded.allowed_mime_types;

-- Each user writes only inside their own folder: the first path segment is their id.
create policy "avatars: users upload their own"
  on storage.objects for insert to authenticated
  with check (
    bucket_id = 'avatars'
    and (storage.foldername(name))[1] = (select auth.uid())::text
  );

-- Upsert (x-upsert: true) is an INSERT ... ON CONFLICT DO UPDATE: Storage needs the UPDATE
-- policy, and the SELECT policy so the existing object is visible to the conflict check.
create policy "avatars: users replace their own"
  on storage.objects for update to authenticated
  using (bucket_id = 'avatars' and (storage.foldername(name))[1] = (select auth.uid())::text)
  with check (bucket_id = 'avatars' and (storage.foldername(name))[1] = (select auth.uid())::text);

create policy "avatars: users see their own"
  on storage.objects for select to authenticated
  using (bucket_id = 'avatars' and (storage.foldername(name))[1] = (select auth.uid())::text);

create policy "avatars: users delete their own"
  on storage.objects for delete to authenticated
  using (bucket_id = 'avatars' and (storage.foldername(name))[1] = (select auth.uid())::text);

-- Public reads go through /storage/v1/object/public/avatars/..., which a public bucket serves
-- without any SELECT policy; none is needed for anon.
