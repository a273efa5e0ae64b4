-- The managed tables ($1: schemas): plain tables, not partitions, not an extension's.
-- Every name comes back quoted as quote_ident quotes it; the caller runs this with an empty
-- search_path, so the definitions name everything with its schema.
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relrowsecurity, c.relforcerowsecurity,
  coalesce(obj_description(c.oid, 'pg_class'), '')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND NOT c.relispartition AND n.nspname = ANY ($1::text[])
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
