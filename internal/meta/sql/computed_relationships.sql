-- Computed relationships: functions taking exactly one argument, a row of an exposed relation,
-- and returning rows of an exposed relation (PostgREST 11+). Such a function can be embedded
-- by its name like a foreign key; it yields one row (to-one) when it is not SETOF or is
-- declared ROWS 1, else many. As in PostgREST, the function itself may live in any schema: the
-- call runs as the caller's role, which needs USAGE on that schema and EXECUTE on it.
SELECT tn.nspname AS table_schema,
       tc.relname AS table_name,
       n.nspname AS schema,
       p.proname AS name,
       rn.nspname AS foreign_schema,
       rc.relname AS foreign_name,
       NOT p.proretset OR p.prorows = 1 AS to_one
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_class tc ON tc.reltype = p.proargtypes[0] AND tc.relkind IN ('r', 'v', 'm', 'f', 'p')
JOIN pg_namespace tn ON tn.oid = tc.relnamespace
JOIN pg_class rc ON rc.reltype = p.prorettype AND rc.relkind IN ('r', 'v', 'm', 'f', 'p')
JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE p.pronargs = 1
  AND p.prokind = 'f'
  AND tn.nspname = ANY($1::text[])
  AND rn.nspname = ANY($1::text[])
ORDER BY n.nspname, p.proname, p.oid
