-- GET /pg/policies: row-level security policies.
WITH items AS (
  SELECT pol.oid, n.nspname, c.relname, c.oid AS table_id, pol.polname, pol.polpermissive,
    pol.polroles, pol.polcmd, pol.polqual, pol.polwithcheck, pol.polrelid
  FROM pg_policy pol
  JOIN pg_class c ON c.oid = pol.polrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE (CASE WHEN cardinality(@included::text[]) > 0 THEN n.nspname = ANY(@included::text[])
         ELSE n.nspname <> ALL(@excluded::text[]) END)
    AND (@ids::int8[] IS NULL OR pol.oid::int8 = ANY(@ids::int8[]))
  ORDER BY n.nspname, c.relname, pol.polname
  LIMIT @limit OFFSET @offset
)
SELECT json_build_object(
  'id', i.oid::int8,
  'schema', i.nspname,
  'table', i.relname,
  'table_id', i.table_id::int8,
  'name', i.polname,
  'action', CASE WHEN i.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END,
  'roles', CASE WHEN i.polroles = '{0}'::oid[] THEN json_build_array('public')
    ELSE coalesce((SELECT json_agg(r.rolname ORDER BY r.rolname) FROM pg_roles r WHERE r.oid = ANY(i.polroles)), '[]'::json) END,
  'command', CASE i.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
  'definition', pg_get_expr(i.polqual, i.polrelid),
  'check', pg_get_expr(i.polwithcheck, i.polrelid)
)::text
FROM items i
ORDER BY i.nspname, i.relname, i.polname
