-- GET /pg/schemas (adapted from information_schema.schemata). Without include_system_schemas
-- the pg_* schemas and information_schema are left out.
WITH items AS (
  SELECT n.oid, n.nspname, u.rolname
  FROM pg_namespace n
  JOIN pg_roles u ON u.oid = n.nspowner
  WHERE (CASE WHEN cardinality(@included::text[]) > 0 THEN n.nspname = ANY(@included::text[])
         ELSE n.nspname <> ALL(@excluded::text[]) END)
    AND (@include_system::bool OR NOT starts_with(n.nspname, 'pg_'))
    AND (@ids::int8[] IS NULL OR n.oid::int8 = ANY(@ids::int8[]))
    AND (pg_has_role(n.nspowner, 'USAGE') OR has_schema_privilege(n.oid, 'CREATE, USAGE'))
    AND NOT starts_with(n.nspname, 'pg_temp_')
    AND NOT starts_with(n.nspname, 'pg_toast_temp_')
  ORDER BY n.nspname
  LIMIT @limit OFFSET @offset
)
SELECT json_build_object(
  'id', oid::int8, 'name', nspname, 'owner', rolname
)::text
FROM items
ORDER BY nspname
