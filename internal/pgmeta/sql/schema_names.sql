-- The names of the schemas a generator or relationship request covers.
SELECT coalesce(array_agg(n.nspname ORDER BY n.nspname), '{}')
FROM pg_namespace n
WHERE (CASE WHEN cardinality(@included::text[]) > 0 THEN n.nspname = ANY(@included::text[])
       ELSE n.nspname <> ALL(@excluded::text[]) END)
  AND (@include_system::bool OR NOT starts_with(n.nspname, 'pg_'))
  AND NOT starts_with(n.nspname, 'pg_temp_')
  AND NOT starts_with(n.nspname, 'pg_toast_temp_')
