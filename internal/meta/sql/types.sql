-- Type names a request may cast to: the built-in ones and those of the exposed schemas.
-- Array types are left out (a cast to name[] is built from the element type), and so are the
-- row types of the system catalogs.
SELECT n.nspname AS schema, t.typname::text AS name
FROM pg_type t
JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE (n.nspname = 'pg_catalog' OR n.nspname = ANY($1::text[]))
  AND t.typtype IN ('b', 'c', 'd', 'e', 'r', 'm')
  AND t.typcategory <> 'A'
  AND NOT (t.typtype = 'c' AND n.nspname = 'pg_catalog')
ORDER BY 1, 2
