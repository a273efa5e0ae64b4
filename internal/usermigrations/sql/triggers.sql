-- Triggers of the managed tables ($1: schemas), except the ones PostgreSQL makes for
-- foreign keys.
WITH tbl AS (
  SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS qname
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND NOT c.relispartition AND n.nspname = ANY ($1::text[])
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
)
SELECT t.qname, quote_ident(tg.tgname), pg_get_triggerdef(tg.oid), tg.tgenabled::text
FROM tbl t JOIN pg_trigger tg ON tg.tgrelid = t.oid
WHERE NOT tg.tgisinternal
