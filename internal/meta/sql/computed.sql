-- Computed fields: functions of the exposed schemas that take exactly one argument, a row of
-- a relation, and return one scalar value (no SETOF, no row type, no pseudo-type such as void
-- or record). Ordered by the exposed schemas' configuration order so the first one wins.
SELECT tn.nspname AS table_schema,
       tc.relname AS table_name,
       n.nspname AS schema,
       p.proname AS name,
       format_type(p.prorettype, NULL) AS return_type,
       bt.typname::text AS return_base_type
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_type at ON at.oid = p.proargtypes[0]
JOIN pg_class tc ON tc.oid = at.typrelid AND tc.relkind IN ('r', 'v', 'm', 'f', 'p')
JOIN pg_namespace tn ON tn.oid = tc.relnamespace
JOIN pg_type rt ON rt.oid = p.prorettype
JOIN pg_type bt ON bt.oid = CASE WHEN rt.typtype = 'd' THEN rt.typbasetype ELSE rt.oid END
WHERE n.nspname = ANY($1::text[])
  AND p.prokind = 'f'
  AND p.pronargs = 1
  AND NOT p.proretset
  AND rt.typtype NOT IN ('c', 'p')
ORDER BY array_position($1::text[], n.nspname::text), p.proname, p.oid
