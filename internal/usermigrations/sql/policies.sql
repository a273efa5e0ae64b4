-- Row-level security policies of the managed tables ($1: schemas).
WITH tbl AS (
  SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND NOT c.relispartition AND n.nspname = ANY ($1::text[])
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
)
SELECT t.qname, quote_ident(p.polname), p.polpermissive, p.polcmd::text,
  CASE WHEN p.polroles = '{0}'::oid[] THEN ARRAY['public']
    ELSE ARRAY(SELECT quote_ident(r.rolname) FROM pg_roles r WHERE r.oid = ANY (p.polroles) ORDER BY r.rolname) END,
  coalesce(pg_get_expr(p.polqual, p.polrelid), ''), coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
FROM tbl t JOIN pg_policy p ON p.polrelid = t.oid
