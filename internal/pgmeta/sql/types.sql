-- GET /pg/types: base, enum, domain, range and composite types; a table's row type only with
-- include_table_types (the TypeScript generator), array types only with include_array_types.
WITH items AS (
  SELECT t.oid, t.typname, n.nspname, t.typrelid
  FROM pg_type t
  LEFT JOIN pg_namespace n ON n.oid = t.typnamespace
  LEFT JOIN pg_class c ON c.oid = t.typrelid
  WHERE (t.typrelid = 0 OR c.relkind = 'c'
      OR (@include_table_types::bool AND c.relkind IN ('r', 'v', 'm', 'p')))
    AND (@include_array_types::bool OR NOT EXISTS (
      SELECT FROM pg_type el WHERE el.oid = t.typelem AND el.typarray = t.oid))
    AND (CASE WHEN cardinality(@included::text[]) > 0 THEN n.nspname = ANY(@included::text[])
         ELSE n.nspname <> ALL(@excluded::text[]) END)
    AND (@ids::int8[] IS NULL OR t.oid::int8 = ANY(@ids::int8[]))
  ORDER BY n.nspname, t.typname
  LIMIT @limit OFFSET @offset
)
SELECT json_build_object(
  'id', i.oid::int8,
  'name', i.typname,
  'schema', i.nspname,
  'format', format_type(i.oid, NULL),
  'enums', coalesce((SELECT json_agg(e.enumlabel ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = i.oid), '[]'::json),
  'attributes', coalesce((
    SELECT json_agg(json_build_object('name', a.attname, 'type_id', a.atttypid::int8) ORDER BY a.attnum)
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
    WHERE c.oid = i.typrelid AND c.relkind = 'c' AND a.attnum > 0 AND NOT a.attisdropped
  ), '[]'::json),
  'comment', obj_description(i.oid, 'pg_type'),
  'type_relation_id', nullif(i.typrelid::int8, 0)
)::text
FROM items i
ORDER BY i.nspname, i.typname
