-- Indexes of the managed tables ($1: schemas), except those a constraint owns (its primary
-- key, unique or exclusion constraint creates them).
WITH tbl AS (
  SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND NOT c.relispartition AND n.nspname = ANY ($1::text[])
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
)
SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname), t.qname, pg_get_indexdef(i.indexrelid)
FROM tbl t
JOIN pg_index i ON i.indrelid = t.oid
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE NOT EXISTS (SELECT 1 FROM pg_constraint con
  WHERE con.conindid = i.indexrelid AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x'))
