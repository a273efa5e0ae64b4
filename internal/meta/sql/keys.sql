-- Primary keys, unique constraints and foreign keys of the relations $1 (OIDs): the exposed
-- tables and the tables that exposed views pass columns through from. Columns are attnums in
-- key order; a foreign key's referenced side comes with it.
SELECT con.conname AS name,
       con.contype::text AS kind,
       con.conrelid::int8 AS rel,
       con.conkey AS columns,
       con.confrelid::int8 AS ref,
       coalesce(con.confkey, '{}') AS ref_columns
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE con.contype IN ('p', 'u', 'f')
  AND con.conrelid::int8 = ANY($1::int8[])
ORDER BY n.nspname, c.relname, con.conname
