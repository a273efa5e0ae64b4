-- Columns of the exposed relations, in table order. type is format_type's spelling (what a
-- CREATE TABLE would say); base_type is the type name after unwrapping domains, which decides
-- how a filter treats the column (tsvector, json, arrays).
SELECT n.nspname AS schema,
       c.relname AS table_name,
       a.attname AS name,
       a.attnum::int AS position,
       format_type(a.atttypid, a.atttypmod) AS type,
       bt.typname::text AS base_type,
       NOT a.attnotnull AS nullable,
       -- What an insert without the column would put there, as PostgREST reads it: a domain's
       -- default, the sequence of an identity column (BY DEFAULT), nothing for a generated one.
       CASE
         WHEN t.typtype = 'd' AND d.adbin IS NULL THEN pg_get_expr(t.typdefaultbin, 0)
         WHEN a.attidentity = 'd' THEN format('nextval(%L)', pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname)::regclass)
         WHEN a.attgenerated <> '' THEN NULL
         ELSE pg_get_expr(d.adbin, d.adrelid)
       END AS default_expr,
       a.attidentity <> '' AS identity,
       a.attgenerated <> '' AS generated,
       coalesce(col_description(c.oid, a.attnum), '') AS description,
       CASE WHEN bt.typname IN ('varchar', 'bpchar') AND a.atttypmod > 4 THEN a.atttypmod - 4 END AS max_length,
       coalesce(
         (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = bt.oid),
         '{}'::text[]
       ) AS enum_values,
       pg_column_is_updatable(c.oid::regclass, a.attnum, true) AS updatable
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE n.nspname = ANY($1::text[])
  AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY n.nspname, c.relname, a.attnum
