-- The original design's column kinds, as JSONB domains: a column of one of them holds JSON
-- that its CHECK keeps to the kind's shape, so REST, realtime and every client read and write
-- it as plain JSON while the database refuses anything else. /pg/columns reports them
-- (is_rich_text, is_file_reference) by these names; create a column of one with
-- POST /pg/columns {"type": "goforward.rich_text"} or in SQL.
--
--   rich_text       {"html": "<p>Hi</p>", "text": "Hi", "metadata": {...}}
--   file_reference  {"file_id": "...", "url": "...", "filename": "a.png", "size": 1234,
--                    "mime_type": "image/png", "metadata": {"alt": "..."}}
--
-- html, text, file_id, url, filename and mime_type are strings (file_id not empty), size a
-- whole number of bytes, metadata optional (absent or null; an object, whose values are
-- strings for a file reference), and no other keys. NULL stays allowed: NOT NULL is the
-- column's business. The checks are functions so that applications can test a value first
-- (select goforward.is_rich_text('{"html": ""}')); CASE keeps each step from running on a
-- value an earlier one refused (PostgreSQL does not promise to stop an AND early, and
-- subtracting keys from a scalar or reading a string as a number would raise instead of
-- answering false).
--
-- The domains live in goforward, which the API roles cannot use by name; they need not:
-- writing a column coerces to its type by OID, and functions are executable by PUBLIC.

CREATE FUNCTION goforward.is_rich_text(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
    WHEN v IS NULL THEN NULL
    WHEN jsonb_typeof(v) <> 'object' THEN false
    ELSE coalesce(jsonb_typeof(v -> 'html') = 'string', false)
      AND coalesce(jsonb_typeof(v -> 'text') = 'string', false)
      AND coalesce(jsonb_typeof(v -> 'metadata') IN ('object', 'null'), true)
      AND (v - ARRAY['html', 'text', 'metadata']) = '{}'::jsonb
  END
$$;

CREATE FUNCTION goforward.is_file_reference(v jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
    WHEN v IS NULL THEN NULL
    WHEN jsonb_typeof(v) <> 'object' THEN false
    WHEN coalesce(jsonb_typeof(v -> 'size') <> 'number', true) THEN false
    WHEN coalesce(jsonb_typeof(v -> 'metadata') NOT IN ('object', 'null'), false) THEN false
    ELSE coalesce(jsonb_typeof(v -> 'file_id') = 'string' AND v ->> 'file_id' <> '', false)
      AND coalesce(jsonb_typeof(v -> 'url') = 'string', false)
      AND coalesce(jsonb_typeof(v -> 'filename') = 'string', false)
      AND coalesce(jsonb_typeof(v -> 'mime_type') = 'string', false)
      AND (v -> 'size')::numeric >= 0
      AND (v -> 'size')::numeric = trunc((v -> 'size')::numeric)
      AND NOT coalesce(jsonb_path_exists(v -> 'metadata', '$.* ? (@.type() != "string")'), false)
      AND (v - ARRAY['file_id', 'url', 'filename', 'size', 'mime_type', 'metadata']) = '{}'::jsonb
  END
$$;

CREATE DOMAIN goforward.rich_text AS jsonb
  CONSTRAINT rich_text_shape CHECK (goforward.is_rich_text(VALUE));
COMMENT ON DOMAIN goforward.rich_text IS
  'Rich text: {"html": string, "text": string, "metadata"?: object}';

CREATE DOMAIN goforward.file_reference AS jsonb
  CONSTRAINT file_reference_shape CHECK (goforward.is_file_reference(VALUE));
COMMENT ON DOMAIN goforward.file_reference IS
  'A file in storage: {"file_id": string, "url": string, "filename": string, "size": integer >= 0, "mime_type": string, "metadata"?: {string: string}}';
