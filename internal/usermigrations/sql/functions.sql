-- Functions and procedures of the managed schemas ($1), not an extension's. The key is the
-- regprocedure (schema.name(argument types)), which also names it in DROP.
SELECT p.oid::regprocedure::text, p.prokind::text, pg_get_functiondef(p.oid),
  coalesce(pg_get_function_result(p.oid), ''), pg_get_function_arguments(p.oid)
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = ANY ($1::text[]) AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
