-- GET /pg/indexes. index_attributes names each key of the index: the table's column for a
-- plain key (attribute_number is the table's attnum), the index's own attribute for an
-- expression (attribute_number 0).
WITH items AS (
  SELECT x.*, c.relname, c.relam, n.nspname
  FROM pg_index x
  JOIN pg_class c ON c.oid = x.indexrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE (CASE WHEN cardinality(@included::text[]) > 0 THEN n.nspname = ANY(@included::text[])
         ELSE n.nspname <> ALL(@excluded::text[]) END)
    AND (@ids::int8[] IS NULL OR x.indexrelid::int8 = ANY(@ids::int8[]))
  ORDER BY n.nspname, c.relname
  LIMIT @limit OFFSET @offset
)
SELECT json_build_object(
  'id', i.indexrelid::int8,
  'table_id', i.indrelid::int8,
  'schema', i.nspname,
  'number_of_attributes', i.indnatts,
  'number_of_key_attributes', i.indnkeyatts,
  'is_unique', i.indisunique,
  'is_primary', i.indisprimary,
  'is_exclusion', i.indisexclusion,
  'is_immediate', i.indimmediate,
  'is_clustered', i.indisclustered,
  'is_valid', i.indisvalid,
  'check_xmin', i.indcheckxmin,
  'is_ready', i.indisready,
  'is_live', i.indislive,
  'is_replica_identity', i.indisreplident,
  'key_attributes', array_to_json(i.indkey::int2[]),
  'collation', array_to_json(i.indcollation::oid[]::int8[]),
  'class', array_to_json(i.indclass::oid[]::int8[]),
  'options', array_to_json(i.indoption::int2[]),
  'index_predicate', pg_get_expr(i.indpred, i.indrelid),
  'comment', obj_description(i.indexrelid, 'pg_class'),
  'index_definition', pg_get_indexdef(i.indexrelid),
  'access_method', am.amname,
  'index_attributes', coalesce((
    SELECT json_agg(json_build_object(
      'attribute_number', k.attnum,
      'attribute_name', coalesce(ta.attname, ia.attname),
      'data_type', format_type(ia.atttypid, ia.atttypmod)
    ) ORDER BY k.ord)
    FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
    JOIN pg_attribute ia ON ia.attrelid = i.indexrelid AND ia.attnum = k.ord
    LEFT JOIN pg_attribute ta ON ta.attrelid = i.indrelid AND ta.attnum = k.attnum AND k.attnum > 0
  ), '[]'::json)
)::text
FROM items i
JOIN pg_am am ON am.oid = i.relam
ORDER BY i.nspname, i.relname
