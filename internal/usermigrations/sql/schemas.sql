-- The schemas a project manages: the ones named in $2, or, when $2 is NULL, all but
-- PostgreSQL's own, an extension's and the ones in $1 (Go Forward's internal schemas).
SELECT n.nspname, quote_ident(n.nspname)
FROM pg_namespace n
WHERE CASE WHEN $2::text[] IS NULL THEN
    n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema' AND n.nspname <> ALL ($1::text[])
    AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass AND d.objid = n.oid AND d.deptype = 'e')
  ELSE n.nspname = ANY ($2::text[]) END
