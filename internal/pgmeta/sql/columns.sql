-- GET /pg/columns: every column of tables, views, materialized views, foreign and partitioned
-- tables.
WITH rels AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind, c.relowner
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'v', 'm', 'f', 'p')
    AND NOT pg_is_other_temp_schema(n.oid)
    AND (CASE WHEN cardinality(@included::text[]) > 0 THEN n.nspname = ANY(@included::text[])
         ELSE n.nspname <> ALL(@excluded::text[]) END)
    AND (@ids::int8[] IS NULL OR c.oid::int8 = ANY(@ids::int8[]))
),
{{COLUMNS_CTE}}
page AS (
  SELECT *
  FROM cols
  WHERE @attnum::int2 IS NULL OR ordinal_position = @attnum::int2
  ORDER BY schema, "table", ordinal_position
  LIMIT @limit OFFSET @offset
)
SELECT to_json(p)::text FROM page p ORDER BY p.schema, p."table", p.ordinal_position
