-- Storage metadata, laid out as Supabase Storage lays it out, so that policies written from
-- Supabase's documentation ("bucket_id = 'avatars' and (storage.foldername(name))[1] =
-- auth.uid()::text") work verbatim. Object bytes live in a blob backend (a directory or an
-- S3 bucket); these tables say which blob version is current and who may see it.

CREATE TYPE storage.buckettype AS ENUM ('STANDARD', 'ANALYTICS');

CREATE TABLE storage.buckets (
  id                 text PRIMARY KEY,
  name               text NOT NULL,
  owner              uuid,          -- deprecated by Supabase in favour of owner_id; kept in step
  owner_id           text,
  created_at         timestamptz DEFAULT now(),
  updated_at         timestamptz DEFAULT now(),
  public             boolean DEFAULT false,
  avif_autodetection boolean DEFAULT false,
  file_size_limit    bigint,
  allowed_mime_types text[],
  type               storage.buckettype NOT NULL DEFAULT 'STANDARD'
);
CREATE UNIQUE INDEX bname ON storage.buckets USING btree (name);

CREATE TABLE storage.objects (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  bucket_id        text NOT NULL,
  name             text NOT NULL,
  owner            uuid,          -- deprecated by Supabase in favour of owner_id; kept in step
  owner_id         text,
  created_at       timestamptz DEFAULT now(),
  updated_at       timestamptz DEFAULT now(),
  last_accessed_at timestamptz DEFAULT now(),
  metadata         jsonb,
  path_tokens      text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED,
  version          text,
  user_metadata    jsonb,
  CONSTRAINT "objects_bucketId_fkey" FOREIGN KEY (bucket_id) REFERENCES storage.buckets (id)
);
CREATE UNIQUE INDEX bucketid_objname ON storage.objects USING btree (bucket_id, name);
CREATE INDEX name_prefix_search ON storage.objects USING btree (name text_pattern_ops);

-- Supabase's helpers, with Supabase's definitions: foldername is every segment but the last,
-- filename the last one, extension what follows the filename's last dot.
CREATE FUNCTION storage.foldername(name text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
  _parts text[];
BEGIN
  SELECT string_to_array(name, '/') INTO _parts;
  RETURN _parts[1:array_length(_parts, 1) - 1];
END
$$;

CREATE FUNCTION storage.filename(name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
  _parts text[];
BEGIN
  SELECT string_to_array(name, '/') INTO _parts;
  RETURN _parts[array_length(_parts, 1)];
END
$$;

CREATE FUNCTION storage.extension(name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
AS $$
DECLARE
  _parts text[];
  _filename text;
BEGIN
  SELECT string_to_array(name, '/') INTO _parts;
  SELECT _parts[array_length(_parts, 1)] INTO _filename;
  RETURN reverse(split_part(reverse(_filename), '.', 1));
END
$$;

CREATE FUNCTION storage.update_updated_at_column() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END
$$;

CREATE TRIGGER update_objects_updated_at
  BEFORE UPDATE ON storage.objects
  FOR EACH ROW EXECUTE FUNCTION storage.update_updated_at_column();

-- A row deleted with plain SQL would leave its blob behind for ever, so deletes are refused
-- unless the transaction says it comes from the storage service (which removes the blob too),
-- exactly as Supabase does. SQL that really means it can set the same flag.
CREATE FUNCTION storage.protect_delete() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  IF coalesce(current_setting('storage.allow_delete_query', true), 'false') <> 'true' THEN
    RAISE EXCEPTION 'Direct deletion from storage tables is not allowed. Use the Storage API instead.'
      USING HINT = 'This prevents accidental data loss from orphaned objects.',
            ERRCODE = '42501';
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER protect_buckets_delete
  BEFORE DELETE ON storage.buckets
  FOR EACH STATEMENT EXECUTE FUNCTION storage.protect_delete();

CREATE TRIGGER protect_objects_delete
  BEFORE DELETE ON storage.objects
  FOR EACH STATEMENT EXECUTE FUNCTION storage.protect_delete();

-- Row-level security decides everything, with no policy installed: until the application adds
-- policies only service_role (BYPASSRLS) sees or changes anything, as on a new Supabase project.
ALTER TABLE storage.buckets ENABLE ROW LEVEL SECURITY;
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;

GRANT ALL ON storage.buckets, storage.objects TO anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION storage.foldername(text), storage.filename(text), storage.extension(text)
  TO anon, authenticated, service_role;

-- Resumable (TUS) uploads in progress. Internal to the storage service: only service_role may
-- touch it, and every request's right to write the object is still checked against the
-- policies on storage.objects when the upload is created and again when it completes.
CREATE TABLE storage.resumable_uploads (
  id            uuid PRIMARY KEY,
  bucket_id     text NOT NULL,  -- no foreign key: a bucket may go while an upload is pending
  name          text NOT NULL,
  owner_id      text NOT NULL,  -- sub of the creator ('' for the service role); only they may continue
  upload_length bigint NOT NULL CHECK (upload_length >= 0),
  upload_offset bigint NOT NULL DEFAULT 0 CHECK (upload_offset >= 0 AND upload_offset <= upload_length),
  parts         jsonb NOT NULL DEFAULT '[]', -- [{"key": blob key, "size": bytes}] in offset order
  content_type  text NOT NULL,
  cache_control text NOT NULL,
  user_metadata jsonb,
  upsert        boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL
);
CREATE INDEX resumable_uploads_expires_at ON storage.resumable_uploads (expires_at);
ALTER TABLE storage.resumable_uploads ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON storage.resumable_uploads FROM PUBLIC, anon, authenticated;
GRANT ALL ON storage.resumable_uploads TO service_role;
