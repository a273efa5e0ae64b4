-- GET /pg/publications: tables is null for a publication FOR ALL TABLES.
WITH items AS (
  SELECT p.oid, p.pubname, p.pubowner, p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate, p.puballtables
  FROM pg_publication p
  WHERE (@ids::int8[] IS NULL OR p.oid::int8 = ANY(@ids::int8[]))
    AND (@names::text[] IS NULL OR p.pubname = ANY(@names::text[]))
  ORDER BY p.pubname
  LIMIT @limit OFFSET @offset
)
SELECT json_build_object(
  'id', i.oid::int8,
  'name', i.pubname,
  'owner', i.pubowner::regrole::text,
  'publish_insert', i.pubinsert,
  'publish_update', i.pubupdate,
  'publish_delete', i.pubdelete,
  'publish_truncate', i.pubtruncate,
  'tables', CASE WHEN i.puballtables THEN NULL ELSE coalesce((
    SELECT json_agg(json_build_object('id', c.oid::int8, 'name', c.relname, 'schema', n.nspname) ORDER BY n.nspname, c.relname)
    FROM pg_publication_rel pr
    JOIN pg_class c ON c.oid = pr.prrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE pr.prpubid = i.oid
  ), '[]'::json) END
)::text
FROM items i
ORDER BY i.pubname
