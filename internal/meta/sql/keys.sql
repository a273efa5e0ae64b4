-- Primary keys, unique constraints and foreign keys touching the exposed schemas, with their
-- columns in key order.
SELECT con.conname AS name,
       con.contype::text AS kind,
       n.nspname AS schema,
       c.relname AS table_name,
       ARRAY(
         SELECT a.attname::text
         FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
         ORDER BY k.ord
       ) AS columns,
       coalesce(fn.nspname, '') AS ref_schema,
       coalesce(fc.relname, '') AS ref_table,
       ARRAY(
         SELECT a.attname::text
         FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
         ORDER BY k.ord
       ) AS ref_columns
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.contype IN ('p', 'u', 'f')
  AND n.nspname = ANY($1::text[])
ORDER BY n.nspname, c.relname, con.conname
