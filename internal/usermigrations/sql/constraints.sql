-- Primary keys, unique, foreign-key, check and exclusion constraints of the managed tables
-- ($1: schemas). NOT NULL is a column's attribute here.
WITH tbl AS (
  SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND NOT c.relispartition AND n.nspname = ANY ($1::text[])
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
)
SELECT t.qname, quote_ident(con.conname), con.contype::text, pg_get_constraintdef(con.oid)
FROM tbl t JOIN pg_constraint con ON con.conrelid = t.oid
WHERE con.contype IN ('p', 'u', 'f', 'c', 'x')
