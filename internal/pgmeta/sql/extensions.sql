-- GET /pg/extensions: every extension the server can install, and where it is installed.
WITH items AS (
  SELECT e.name, n.nspname, e.default_version, x.extversion, e.comment
  FROM pg_available_extensions() AS e(name, default_version, comment)
  LEFT JOIN pg_extension x ON x.extname = e.name
  LEFT JOIN pg_namespace n ON n.oid = x.extnamespace
  WHERE @names::text[] IS NULL OR e.name = ANY(@names::text[])
  ORDER BY e.name
  LIMIT @limit OFFSET @offset
)
SELECT json_build_object(
  'name', name,
  'schema', nspname,
  'default_version', default_version,
  'installed_version', extversion,
  'comment', comment
)::text
FROM items
ORDER BY name
