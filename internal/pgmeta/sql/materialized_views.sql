-- GET /pg/materialized-views: materialized views, with (include_columns) their columns.
WITH rels AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind, c.relowner, c.relispopulated
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'm'
    AND (CASE WHEN cardinality(@included::text[]) > 0 THEN n.nspname = ANY(@included::text[])
         ELSE n.nspname <> ALL(@excluded::text[]) END)
    AND (@ids::int8[] IS NULL OR c.oid::int8 = ANY(@ids::int8[]))
  ORDER BY n.nspname, c.relname
  LIMIT @limit OFFSET @offset
),
{{COLUMNS_CTE}}
done AS (SELECT 1)
SELECT to_json(t)::text
FROM (
  SELECT
    r.oid::int8 AS id,
    r.nspname AS schema,
    r.relname AS name,
    r.relispopulated AS is_populated,
    obj_description(r.oid, 'pg_class') AS comment
    {{COLUMNS_FIELD}}
  FROM rels r
  {{COLUMNS_JOIN}}
) AS t
ORDER BY t.schema, t.name
